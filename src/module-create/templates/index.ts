import { Elysia } from 'elysia'
import { db } from '../../db'
import { createdLocation, queryCoercion, versionCondition, versionEtag } from '../../http'
import { NoContent, Problem, problemModel } from '../../openapi'
import type { ModuleDeps } from '..'
import {
  IfMatchHeaders,
  SampleThingCreate,
  SampleThingListQuery,
  SampleThingPage,
  SampleThingParams,
  SampleThingPublic,
  SampleThingUpdate,
  toPublic,
  toPublicPage,
} from './model'
import {
  createSampleThing,
  deleteSampleThing,
  getSampleThing,
  listSampleThings,
  updateSampleThing,
} from './service'

const tags = ['sample-things']

/** The sample things API: each handler destructures the context, calls the service, returns. */
export const sampleThings = ({ orm }: ModuleDeps) =>
  new Elysia({ prefix: '/sample-things' })
    .use(problemModel)
    .model({ SampleThing: SampleThingPublic, SampleThingPage })
    .use(db(orm))
    .use(versionEtag)
    .use(createdLocation)
    .post('', async ({ em, body, status }) => status(201, toPublic(await createSampleThing(em, body))), {
      body: SampleThingCreate,
      // Our global parser does the reading; naming the format keeps the document to application/json.
      parse: 'json',
      response: { 201: 'SampleThing', 400: Problem, 413: Problem, 415: Problem, 422: Problem, 503: Problem },
      detail: { operationId: 'createSampleThing', summary: 'Create a new sample thing', tags },
    })
    .get('', async ({ em, query }) => toPublicPage(await listSampleThings(em, query)), {
      query: SampleThingListQuery,
      transform: queryCoercion(SampleThingListQuery),
      response: { 200: 'SampleThingPage', 422: Problem, 503: Problem },
      detail: {
        operationId: 'listSampleThings',
        summary: 'List sample things, oldest first, with an optional text filter',
        tags,
      },
    })
    .get('/:id', async ({ em, params }) => toPublic(await getSampleThing(em, params.id)), {
      params: SampleThingParams,
      response: { 200: 'SampleThing', 404: Problem, 422: Problem, 503: Problem },
      detail: {
        operationId: 'getSampleThing',
        summary: 'Get one sample thing by id; the ETag carries its version',
        tags,
      },
    })
    .patch(
      '/:id',
      async ({ em, params, body: { version, ...changes }, headers }) =>
        toPublic(
          await updateSampleThing(em, params.id, changes, versionCondition(headers['if-match'], version)),
        ),
      {
        params: SampleThingParams,
        headers: IfMatchHeaders,
        body: SampleThingUpdate,
        parse: 'json',
        response: {
          200: 'SampleThing',
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
          operationId: 'updateSampleThing',
          summary: 'Change name and/or description of the version named by If-Match (or body.version)',
          tags,
        },
      },
    )
    .delete(
      '/:id',
      async ({ em, params, headers, status }) =>
        status(204, await deleteSampleThing(em, params.id, versionCondition(headers['if-match']))),
      {
        params: SampleThingParams,
        headers: IfMatchHeaders,
        response: { 204: NoContent, 404: Problem, 412: Problem, 422: Problem, 428: Problem, 503: Problem },
        detail: { operationId: 'deleteSampleThing', summary: 'Delete the version named by If-Match', tags },
      },
    )
