import type { TObject } from '@sinclair/typebox'
import { Elysia, ElysiaCustomStatusResponse } from 'elysia'
import { InvalidRequest, MethodNotAllowed, PayloadTooLarge, UnsupportedMediaType } from './errors'
import type { Logger } from './log'
import type { VersionCondition } from './versioning'

// Accept caller ids that are safe to log and echo; anything else is replaced.
const REQUEST_ID = /^[\w.:@-]{1,128}$/

export const etagOf = (version: number) => `"${version}"`

// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
const ENTITY_TAG = '(W\\/)?"([\\x21\\x23-\\x7e\\x80-\\xff]*)"'
// §5.6.1: a comma-separated list of at least one tag, whose empty elements are ignored.
const TAG_LIST = new RegExp(`^[\\s,]*${ENTITY_TAG}(\\s*,[\\s,]*${ENTITY_TAG})*[\\s,]*$`)
// The tags this API issues: a version number, written without leading zeros.
const VERSION_TAG = /^[1-9]\d{0,8}$/

/**
 * If-Match as RFC 9110 §13.1.1 evaluates it: `*` accepts any current version; a list accepts the versions its
 * strong tags name (strong comparison, character by character; a weak tag never matches).
 */
export function parseIfMatch(value: string): VersionCondition {
  if (value.trim() === '*') return { kind: 'precondition' }
  if (!TAG_LIST.test(value))
    throw new InvalidRequest('headers', '/if-match', 'expected * or a list of ETags such as "3"')
  const versions = [...value.matchAll(new RegExp(ENTITY_TAG, 'g'))]
    .filter(([, weak, opaque]) => !weak && VERSION_TAG.test(opaque as string))
    .map(([, , opaque]) => Number(opaque))
  return { kind: 'precondition', versions }
}

/** The condition a change is made under: If-Match, or the version in the body; undefined when neither is sent. */
export function versionCondition(
  ifMatch: string | undefined,
  bodyVersion?: number,
): VersionCondition | undefined {
  if (ifMatch !== undefined && bodyVersion !== undefined) {
    throw new InvalidRequest('body', '/version', 'expected either If-Match or body.version, not both')
  }
  if (ifMatch !== undefined) return parseIfMatch(ifMatch)
  return bodyVersion === undefined ? undefined : { kind: 'version', versions: [bodyVersion] }
}

/**
 * The one media type the document declares for request bodies: `application/json`, in UTF-8 (RFC 8259 §8.1),
 * so charset may be absent or utf-8. `+json` types promise other semantics (e.g. merge-patch) and are refused.
 */
export function isJsonContentType(contentType: string): boolean {
  const [mediaType = '', ...parameters] = contentType.split(';').map((part) => part.trim())
  if (mediaType.toLowerCase() !== 'application/json') return false
  return parameters.every((parameter) => {
    const [name = '', raw = ''] = parameter.split('=').map((part) => part.trim())
    return name.toLowerCase() !== 'charset' || /^"?utf-8"?$/i.test(raw)
  })
}

// Far deeper than any body this API takes; deeper values would overflow the validator's stack (a 500).
const MAX_BODY_DEPTH = 32

/** How deeply arrays and objects nest in a parsed JSON value, counted without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0
  const pending: [unknown, number][] = [[value, 0]]
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next
    if (item === null || typeof item !== 'object') continue
    deepest = Math.max(deepest, depth + 1)
    if (deepest > MAX_BODY_DEPTH) return deepest
    for (const child of Object.values(item)) pending.push([child, depth + 1])
  }
  return deepest
}

// The methods whose operations take a body; any other request's body is left unread (RFC 9110 gives it no meaning).
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH'])

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
  return new Elysia({ name: 'request-context' })
    .onRequest(({ request, set }) => {
      inFlight.enter()
      startedAt.set(request, performance.now())
      const incoming = request.headers.get('x-request-id')
      set.headers['x-request-id'] = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
      if (
        BODY_METHODS.has(request.method) &&
        Number(request.headers.get('content-length') ?? 0) > bodyLimitBytes
      ) {
        throw new PayloadTooLarge(bodyLimitBytes)
      }
    })
    .onParse({ as: 'global' }, async ({ request }) => {
      // Answered here, or Elysia's own parser would read (and judge) a body the operation does not take.
      if (!BODY_METHODS.has(request.method)) return {}
      if (!hasBody(request)) return undefined
      // The full header: Elysia's `contentType` drops the parameters, charset among them.
      const contentType = request.headers.get('content-type') ?? ''
      if (!isJsonContentType(contentType)) throw new UnsupportedMediaType(contentType)
      const body: unknown = JSON.parse(await readLimited(request, bodyLimitBytes))
      if (depthOf(body) > MAX_BODY_DEPTH) {
        throw new InvalidRequest('body', '/', `expected JSON nested at most ${MAX_BODY_DEPTH} levels deep`)
      }
      return body
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, path }) => {
      // `path` is Elysia's own parse of the URL: a second `new URL()` per request cost 3 % of GET /health/live.
      const started = startedAt.get(request)
      log.info('request', {
        method: request.method,
        path,
        status: set.status,
        durationMs: started === undefined ? undefined : Math.round((performance.now() - started) * 100) / 100,
        requestId: set.headers['x-request-id'],
      })
      inFlight.leave()
    })
}

const responseValue = (value: unknown) =>
  value instanceof ElysiaCustomStatusResponse ? value.response : value

/** Sets the ETag from the `version` of a single resource in the response, for If-Match round trips. */
export const versionEtag = new Elysia({ name: 'version-etag' }).onAfterHandle(
  { as: 'scoped' },
  ({ responseValue: value, set }) => {
    const version = (responseValue(value) as { version?: unknown } | undefined)?.version
    if (typeof version === 'number') set.headers.etag = etagOf(version)
  },
)

/** A 201 names what it created: `Location: <collection path>/<id>` (RFC 9110 §15.3.2). */
export const createdLocation = new Elysia({ name: 'created-location' }).onAfterHandle(
  { as: 'scoped' },
  ({ responseValue: value, request, set }) => {
    if (!(value instanceof ElysiaCustomStatusResponse) || value.code !== 201) return
    const id = (value.response as { id?: unknown } | undefined)?.id
    if (typeof id !== 'string') return
    set.headers.location = `${new URL(request.url).pathname.replace(/\/+$/, '')}/${encodeURIComponent(id)}`
  },
)

/**
 * Query strings carry text: integer parameters of `schema` are converted here so the schema checks them as
 * integers (and names the parameter when it fails), an empty parameter counts as not sent, and a repeated one is
 * refused.
 */
export function queryCoercion(schema: TObject) {
  const integers = Object.entries(schema.properties)
    .filter(([, property]) => property.type === 'integer')
    .map(([key]) => key)
  return ({ query, request }: { query: Record<string, unknown>; request: Request }) => {
    // One value per parameter: the parser keeps the last of several, which would silently drop the others.
    const sent = new URL(request.url).searchParams
    for (const key of new Set(sent.keys())) {
      if (sent.getAll(key).length > 1)
        throw new InvalidRequest('query', `/${key}`, 'expected one value, got several')
    }
    for (const [key, value] of Object.entries(query)) if (value === '') delete query[key]
    for (const key of integers) {
      const value = query[key]
      if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) query[key] = Number(value)
    }
  }
}

interface Route {
  method: string
  path: string
}

/** Compiles route paths (`/notes/:id`) once into matchers, to tell 404 (no such path) from 405 (wrong method). */
export function allowedMethods(routes: () => Route[]) {
  let compiled: { method: string; pattern: RegExp }[] = []
  let compiledFrom = -1
  return (method: string, pathname: string): MethodNotAllowed | undefined => {
    const current = routes()
    if (compiledFrom !== current.length) {
      compiled = current.map((route) => ({
        method: route.method,
        pattern: new RegExp(
          `^${route.path
            .replace(/\/+$/, '')
            .split('/')
            .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
            .join('/')}/?$`,
        ),
      }))
      compiledFrom = current.length
    }
    const allowed = new Set(compiled.filter((route) => route.pattern.test(pathname)).map((r) => r.method))
    if (allowed.size === 0 || allowed.has(method)) return undefined
    if (allowed.has('GET')) allowed.add('HEAD')
    return new MethodNotAllowed(method, [...allowed].sort())
  }
}
