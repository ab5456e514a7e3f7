import { type AnyElysia, Elysia } from 'elysia'
import { name, version } from '../package.json' with { type: 'json' }
import type { Config } from './config'
import type { Orm } from './db'
import { errorHandler } from './errors'
import { registerFormats } from './formats'
import { allowedMethods, InFlight, requestContext } from './http'
import type { Logger } from './log'
import { modules } from './modules'
import { openapiRoutes } from './openapi'

export interface AppDeps {
  config: Pick<Config, 'bodyLimitBytes'> & Partial<Pick<Config, 'release'>>
  orm: Orm
  log: Logger
  /** Shared with shutdown, which waits until every request has been answered and logged. */
  inFlight?: InFlight
}

export const createApp = ({ config, orm, log, inFlight = new InFlight() }: AppDeps) => {
  registerFormats()
  const deps = { orm, config: { release: config.release ?? 'unknown' } }
  const app: AnyElysia = new Elysia({
    // Bun's own limit answers with an empty 413; ours (in requestContext) answers problem+json.
    serve: { maxRequestBodySize: Number.MAX_SAFE_INTEGER },
    // Unknown body fields are refused rather than silently dropped, and a non-object body is named as such.
    normalize: false,
  })
    .use(requestContext({ log, bodyLimitBytes: config.bodyLimitBytes, inFlight }))
    .use(
      errorHandler(
        log,
        allowedMethods(() => app.routes),
      ),
    )
    .use(
      openapiRoutes(() => app, {
        title: `${name} API`,
        version,
        description:
          'Errors are RFC 9457 problem+json. An empty query parameter counts as not sent. ' +
          'No authentication: this example API is open by design.',
        tags: modules.map((module) => module.tag),
      }),
    )
  for (const module of modules) app.use(module.routes(deps))
  return app
}

export type App = ReturnType<typeof createApp>
