import { Elysia } from 'elysia'
import { Problem, problemModel } from '../../openapi'
import type { ModuleDeps } from '..'
import { Live, Ready } from './model'
import { checkReady } from './service'

const tags = ['health']

export const health = ({ orm, config }: ModuleDeps) =>
  new Elysia({ prefix: '/health' })
    .use(problemModel)
    .get(
      '/live',
      () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()), release: config.release }),
      {
        response: { 200: Live },
        detail: { operationId: 'live', summary: 'The process answers (no database involved)', tags },
      },
    )
    .get('/ready', () => checkReady(orm), {
      response: { 200: Ready, 503: Problem },
      detail: {
        operationId: 'ready',
        summary: 'The database answers and the schema is fully migrated',
        tags,
      },
    })
