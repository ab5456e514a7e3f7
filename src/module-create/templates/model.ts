import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import { STORABLE_TEXT } from '../../formats'
import { SAMPLE_THING_DESCRIPTION_MAX, SAMPLE_THING_NAME_MAX, type SampleThing } from './entity'

export const LIST_LIMIT_MAX = 100
export const LIST_LIMIT_DEFAULT = 20

// Plain TypeBox numbers throughout: Elysia's t.Integer is a Transform that documents itself as string-or-integer
// and, in the query, loses the parameter's name when it fails (http.ts's queryCoercion converts query strings).
const Version = Type.Integer({ minimum: 1, description: 'Current version, as in the ETag' })

// The fields of entity.ts as the API takes them: change both together.
const Name = t.String({
  minLength: 1,
  maxLength: SAMPLE_THING_NAME_MAX,
  pattern: STORABLE_TEXT,
  description: 'Short, non-empty name',
})
const Description = t.String({
  maxLength: SAMPLE_THING_DESCRIPTION_MAX,
  pattern: STORABLE_TEXT,
  description: 'Free text',
})

// Unknown fields are refused (422), so a misspelt field is never silently dropped.
export const SampleThingCreate = t.Object(
  { name: Name, description: t.Optional(Description) },
  { additionalProperties: false },
)

export const SampleThingUpdate = t.Object(
  {
    name: t.Optional(Name),
    description: t.Optional(Description),
    version: t.Optional(
      Type.Integer({ minimum: 1, description: 'The version being changed, instead of If-Match' }),
    ),
  },
  { additionalProperties: false },
)

export const SampleThingParams = t.Object({
  id: t.String({ format: 'uuid', description: 'Sample thing id (UUIDv7)' }),
})

// Unknown parameters are refused too (422), so a misspelt one (`limt`) is never silently ignored.
export const SampleThingListQuery = t.Object(
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
        maxLength: SAMPLE_THING_NAME_MAX,
        pattern: STORABLE_TEXT,
        description: 'Case-insensitive text filter on name and description',
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

export const SampleThingPublic = t.Object(
  {
    id: t.String({ format: 'uuid' }),
    name: t.String(),
    description: t.String(),
    version: Version,
    createdAt: t.String({ format: 'date-time' }),
    updatedAt: t.String({ format: 'date-time' }),
  },
  closed,
)

export const SampleThingPage = t.Object(
  {
    items: t.Array(SampleThingPublic),
    nextCursor: t.Union([t.String(), t.Null()], {
      description: 'Pass as cursor for the next page; null at the end',
    }),
  },
  closed,
)

export type SampleThingCreate = typeof SampleThingCreate.static
export type SampleThingUpdate = typeof SampleThingUpdate.static
export type SampleThingListQuery = typeof SampleThingListQuery.static
export type SampleThingPublic = typeof SampleThingPublic.static

export const toPublic = (sampleThing: SampleThing): SampleThingPublic => ({
  id: sampleThing.id,
  name: sampleThing.name,
  description: sampleThing.description,
  version: sampleThing.version,
  createdAt: sampleThing.createdAt.toISOString(),
  updatedAt: sampleThing.updatedAt.toISOString(),
})

export const toPublicPage = ({ items, nextCursor }: { items: SampleThing[]; nextCursor: string | null }) => ({
  items: items.map(toPublic),
  nextCursor,
})
