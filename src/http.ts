import { Elysia, ElysiaCustomStatusResponse } from 'elysia'
import { InvalidInput, PayloadTooLarge, UnsupportedMediaType } from './errors'
import type { Logger } from './log'

// Accept caller ids that are safe to log and echo; anything else is replaced.
const REQUEST_ID = /^[\w.:@-]{1,128}$/

// Strong ETags only: If-Match uses strong comparison (RFC 9110 §13.1.1).
const ETAG = /^"(\d{1,9})"$/

export const etagOf = (version: number) => `"${version}"`

/** The expected version from If-Match, else from the body; both present must agree. */
export function expectedVersion(ifMatch: string | undefined, bodyVersion?: number): number | undefined {
  if (ifMatch === undefined) return bodyVersion
  const match = ETAG.exec(ifMatch.trim())
  if (!match) throw new InvalidInput('headers', '/if-match', 'expected an ETag such as "3"')
  const version = Number(match[1])
  if (bodyVersion !== undefined && bodyVersion !== version) {
    throw new InvalidInput('body', '/version', 'expected the same version as If-Match, or only one of them')
  }
  return version
}

function hasBody(request: Request): boolean {
  return request.body !== null && request.headers.get('content-length') !== '0'
}

/** Reads the body stream with a running count, so a chunked upload cannot get past the limit either. */
async function readLimited(request: Request, limit: number): Promise<string> {
  if (!request.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > limit) throw new PayloadTooLarge(limit)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Counts requests until their log line is written, so shutdown can wait for both. */
export class InFlight {
  #count = 0
  #idle: (() => void)[] = []

  enter(): void {
    this.#count++
  }

  leave(): void {
    this.#count--
    if (this.#count === 0) for (const resolve of this.#idle.splice(0)) resolve()
  }

  get count(): number {
    return this.#count
  }

  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve))
  }
}

/**
 * Request id, body limits and JSON-only parsing, and one structured log line per request.
 * Bun's own body limit is raised out of the way (see server.ts) so that these answers are problem+json.
 */
export const requestContext = ({
  log,
  bodyLimitBytes,
  inFlight,
}: {
  log: Logger
  bodyLimitBytes: number
  inFlight: InFlight
}) => {
  const startedAt = new WeakMap<Request, number>()
  return new Elysia()
    .onRequest(({ request, set }) => {
      inFlight.enter()
      startedAt.set(request, performance.now())
      const incoming = request.headers.get('x-request-id')
      set.headers['x-request-id'] = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
      if (Number(request.headers.get('content-length') ?? 0) > bodyLimitBytes) {
        throw new PayloadTooLarge(bodyLimitBytes)
      }
    })
    .onParse({ as: 'global' }, async ({ request, contentType }) => {
      if (!hasBody(request)) return undefined
      if (!/^application\/([\w.+-]+\+)?json\b/i.test(contentType)) throw new UnsupportedMediaType(contentType)
      return JSON.parse(await readLimited(request, bodyLimitBytes))
    })
    .onAfterResponse({ as: 'global' }, ({ request, set }) => {
      const started = startedAt.get(request)
      log.info('request', {
        method: request.method,
        path: new URL(request.url).pathname,
        status: set.status,
        durationMs: started === undefined ? undefined : Math.round((performance.now() - started) * 100) / 100,
        requestId: set.headers['x-request-id'],
      })
      inFlight.leave()
    })
}

/** Sets the ETag from the `version` of a single resource in the response, for If-Match round trips. */
export const versionEtag = new Elysia({ name: 'version-etag' }).onAfterHandle(
  { as: 'scoped' },
  ({ responseValue, set }) => {
    const value = responseValue instanceof ElysiaCustomStatusResponse ? responseValue.response : responseValue
    const version = (value as { version?: unknown } | undefined)?.version
    if (typeof version === 'number') set.headers.etag = etagOf(version)
  },
)
