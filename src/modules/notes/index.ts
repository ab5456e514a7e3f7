import { Elysia, t } from 'elysia'
import { db, type Orm } from '../../db'
import { ProblemSchema } from '../../errors'
import { expectedVersion, versionEtag } from '../../http'
import {
  IfMatchHeaders,
  NoteCreate,
  NoteListQuery,
  NotePage,
  NoteParams,
  NotePublic,
  NoteUpdate,
  toPublic,
  toPublicPage,
} from './model'
import { createNote, deleteNote, getNote, listNotes, updateNote } from './service'

const tags = ['notes']

/** The notes API: each handler destructures the context, calls the service, returns. */
export const notes = (orm: Orm) =>
  new Elysia({ prefix: '/notes' })
    .use(db(orm))
    .use(versionEtag)
    .post('/', async ({ em, body, status }) => status(201, toPublic(await createNote(em, body))), {
      body: NoteCreate,
      // Our global parser does the reading; naming the format puts the body schema into the OpenAPI document.
      parse: 'json',
      response: { 201: NotePublic, 415: ProblemSchema, 422: ProblemSchema },
      detail: { summary: 'Create a note', tags },
    })
    .get('/', async ({ em, query }) => toPublicPage(await listNotes(em, query)), {
      query: NoteListQuery,
      response: { 200: NotePage, 422: ProblemSchema },
      detail: { summary: 'List notes, oldest first, with an optional text filter', tags },
    })
    .get('/:id', async ({ em, params }) => toPublic(await getNote(em, params.id)), {
      params: NoteParams,
      response: { 200: NotePublic, 404: ProblemSchema, 422: ProblemSchema },
      detail: { summary: 'Get a note; the ETag carries its version', tags },
    })
    .patch(
      '/:id',
      async ({ em, params, body: { version, ...changes }, headers }) =>
        toPublic(await updateNote(em, params.id, changes, expectedVersion(headers['if-match'], version))),
      {
        params: NoteParams,
        headers: IfMatchHeaders,
        body: NoteUpdate,
        parse: 'json',
        response: {
          200: NotePublic,
          404: ProblemSchema,
          409: ProblemSchema,
          422: ProblemSchema,
          428: ProblemSchema,
        },
        detail: {
          summary: 'Change title and/or body of the version named by If-Match (or body.version)',
          tags,
        },
      },
    )
    .delete(
      '/:id',
      async ({ em, params, headers, status }) =>
        status(204, await deleteNote(em, params.id, expectedVersion(headers['if-match']))),
      {
        params: NoteParams,
        headers: IfMatchHeaders,
        response: { 204: t.Void(), 404: ProblemSchema, 409: ProblemSchema, 428: ProblemSchema },
        detail: { summary: 'Delete the version named by If-Match', tags },
      },
    )
