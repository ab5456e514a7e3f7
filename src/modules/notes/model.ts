import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import { STORABLE_TEXT } from '../../formats'
import { NOTE_BODY_MAX, NOTE_TITLE_MAX, type Note } from './entity'

export const LIST_LIMIT_MAX = 100
export const LIST_LIMIT_DEFAULT = 20

// Plain TypeBox numbers throughout: Elysia's t.Integer is a Transform that documents itself as string-or-integer
// and, in the query, loses the parameter's name when it fails (http.ts's queryCoercion converts query strings).
const Version = Type.Integer({ minimum: 1, description: 'Current version, as in the ETag' })

const Title = t.String({
  minLength: 1,
  maxLength: NOTE_TITLE_MAX,
  pattern: STORABLE_TEXT,
  description: 'Short, non-empty title',
})
const Body = t.String({ maxLength: NOTE_BODY_MAX, pattern: STORABLE_TEXT, description: 'Free text' })

// Unknown fields are refused (422), so a misspelt field is never silently dropped.
export const NoteCreate = t.Object({ title: Title, body: t.Optional(Body) }, { additionalProperties: false })

export const NoteUpdate = t.Object(
  {
    title: t.Optional(Title),
    body: t.Optional(Body),
    version: t.Optional(
      Type.Integer({ minimum: 1, description: 'The version being changed, instead of If-Match' }),
    ),
  },
  { additionalProperties: false },
)

export const NoteParams = t.Object({ id: t.String({ format: 'uuid', description: 'Note id (UUIDv7)' }) })

// Unknown parameters are refused too (422), so a misspelt one (`limt`) is never silently ignored.
export const NoteListQuery = t.Object(
  {
    limit: t.Optional(
      Type.Integer({
        minimum: 1,
        maximum: LIST_LIMIT_MAX,
        default: LIST_LIMIT_DEFAULT,
        description: 'Page size',
      }),
    ),
    cursor: t.Optional(t.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
    q: t.Optional(
      t.String({
        minLength: 1,
        maxLength: NOTE_TITLE_MAX,
        pattern: STORABLE_TEXT,
        description: 'Case-insensitive text filter on title and body',
      }),
    ),
  },
  { additionalProperties: false },
)

export const IfMatchHeaders = t.Object({
  'if-match': t.Optional(
    t.String({ description: 'ETag(s) of the version being changed, e.g. "3", or * for any version' }),
  ),
})

// Response shapes are closed, as Elysia checks them: stated here, the document says so from the first request on
// (Elysia would otherwise add it to the shared schema when it first checks a response, changing the document).
const closed = { additionalProperties: false } as const

export const NotePublic = t.Object(
  {
    id: t.String({ format: 'uuid' }),
    title: t.String(),
    body: t.String(),
    version: Version,
    createdAt: t.String({ format: 'date-time' }),
    updatedAt: t.String({ format: 'date-time' }),
  },
  closed,
)

export const NotePage = t.Object(
  {
    items: t.Array(NotePublic),
    nextCursor: t.Union([t.String(), t.Null()], {
      description: 'Pass as cursor for the next page; null at the end',
    }),
  },
  closed,
)

export type NoteCreate = typeof NoteCreate.static
export type NoteUpdate = typeof NoteUpdate.static
export type NoteListQuery = typeof NoteListQuery.static
export type NotePublic = typeof NotePublic.static

export const toPublic = (note: Note): NotePublic => ({
  id: note.id,
  title: note.title,
  body: note.body,
  version: note.version,
  createdAt: note.createdAt.toISOString(),
  updatedAt: note.updatedAt.toISOString(),
})

export const toPublicPage = ({ items, nextCursor }: { items: Note[]; nextCursor: string | null }) => ({
  items: items.map(toPublic),
  nextCursor,
})
