import { Elysia } from 'elysia'
import { db } from '../../db'
import { createdLocation, queryCoercion, versionCondition, versionEtag } from '../../http'
import { NoContent, Problem, problemModel } from '../../openapi'
import type { ModuleDeps } from '..'
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
export const notes = ({ orm }: ModuleDeps) =>
  new Elysia({ prefix: '/notes' })
    .use(problemModel)
    .model({ Note: NotePublic, NotePage })
    .use(db(orm))
    .use(versionEtag)
    .use(createdLocation)
    .post('', async ({ em, body, status }) => status(201, toPublic(await createNote(em, body))), {
      body: NoteCreate,
      // Our global parser does the reading; naming the format keeps the document to application/json.
      parse: 'json',
      response: { 201: 'Note', 400: Problem, 413: Problem, 415: Problem, 422: Problem, 503: Problem },
      detail: { operationId: 'createNote', summary: 'Create a note', tags },
    })
    .get('', async ({ em, query }) => toPublicPage(await listNotes(em, query)), {
      query: NoteListQuery,
      transform: queryCoercion(NoteListQuery),
      response: { 200: 'NotePage', 422: Problem, 503: Problem },
      detail: {
        operationId: 'listNotes',
        summary: 'List notes, oldest first, with an optional text filter',
        tags,
      },
    })
    .get('/:id', async ({ em, params }) => toPublic(await getNote(em, params.id)), {
      params: NoteParams,
      response: { 200: 'Note', 404: Problem, 422: Problem, 503: Problem },
      detail: { operationId: 'getNote', summary: 'Get a note; the ETag carries its version', tags },
    })
    .patch(
      '/:id',
      async ({ em, params, body: { version, ...changes }, headers }) =>
        toPublic(await updateNote(em, params.id, changes, versionCondition(headers['if-match'], version))),
      {
        params: NoteParams,
        headers: IfMatchHeaders,
        body: NoteUpdate,
        parse: 'json',
        response: {
          200: 'Note',
          400: Problem,
          404: Problem,
          409: Problem,
          412: Problem,
          413: Problem,
          415: Problem,
          422: Problem,
          428: Problem,
          503: Problem,
        },
        detail: {
          operationId: 'updateNote',
          summary: 'Change title and/or body of the version named by If-Match (or body.version)',
          tags,
        },
      },
    )
    .delete(
      '/:id',
      async ({ em, params, headers, status }) =>
        status(204, await deleteNote(em, params.id, versionCondition(headers['if-match']))),
      {
        params: NoteParams,
        headers: IfMatchHeaders,
        response: { 204: NoContent, 404: Problem, 412: Problem, 422: Problem, 428: Problem, 503: Problem },
        detail: { operationId: 'deleteNote', summary: 'Delete the version named by If-Match', tags },
      },
    )
