import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import type { Config } from './config'
import type { Orm } from './db'
import { errorHandler } from './errors'
import { registerFormats } from './formats'
import { InFlight, requestContext } from './http'
import type { Logger } from './log'
import { health } from './modules/health'
import { notes } from './modules/notes'

export interface AppDeps {
  config: Pick<Config, 'bodyLimitBytes'> & Partial<Pick<Config, 'release'>>
  orm: Orm
  log: Logger
  /** Shared with shutdown, which waits until every request has been answered and logged. */
  inFlight?: InFlight
}

export const createApp = ({ config, orm, log, inFlight = new InFlight() }: AppDeps) => {
  registerFormats()
  return new Elysia({
    // Bun's own limit answers with an empty 413; ours (in requestContext) answers problem+json.
    serve: { maxRequestBodySize: Number.MAX_SAFE_INTEGER },
  })
    .use(requestContext({ log, bodyLimitBytes: config.bodyLimitBytes, inFlight }))
    .use(errorHandler(log))
    .use(
      openapi({
        documentation: {
          info: {
            title: 'bakehouse API',
            version: '0.1.0',
            description: 'Errors are RFC 9457 problem+json.',
          },
          tags: [
            { name: 'notes', description: 'Example feature module' },
            { name: 'health', description: 'Liveness and readiness probes' },
          ],
        },
      }),
    )
    .use(health(orm, config.release))
    .use(notes(orm))
}

export type App = ReturnType<typeof createApp>
