import { Elysia } from 'elysia'
import type { Orm } from '../../db'
import { ProblemSchema } from '../../errors'
import { Live, Ready } from './model'
import { checkReady } from './service'

const tags = ['health']

export const health = (orm: Orm, release = 'unknown') =>
  new Elysia({ prefix: '/health' })
    .get('/live', () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()), release }), {
      response: { 200: Live },
      detail: { summary: 'The process answers (no database involved)', tags },
    })
    .get('/ready', () => checkReady(orm), {
      response: { 200: Ready, 503: ProblemSchema },
      detail: { summary: 'The database answers and the schema is fully migrated', tags },
    })
