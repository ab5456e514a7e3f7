import { toOpenAPISchema } from '@elysiajs/openapi'
import { Type } from '@sinclair/typebox'
import { type AnyElysia, Elysia, t } from 'elysia'

/** RFC 9457 problem details: every error response, as one shared component. */
export const ProblemSchema = t.Object(
  {
    type: t.String({ description: 'Problem type URI; about:blank means the title says it all' }),
    title: t.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: t.Optional(t.String()),
    instance: t.Optional(t.String({ description: 'Request path' })),
    requestId: t.Optional(t.String({ description: 'Quote it when reporting a problem' })),
    errors: t.Optional(
      t.Array(
        t.Object({
          in: t.String({ description: 'body, query, headers or params' }),
          field: t.String({ description: 'JSON pointer into that part of the request' }),
          message: t.String({ description: 'What was expected (the rejected value is never echoed)' }),
        }),
        { description: 'Every invalid field (422)' },
      ),
    ),
    limit: t.Optional(Type.Integer({ description: 'The body size limit in bytes (413)' })),
    currentVersion: t.Optional(Type.Integer({ description: 'The current version, when known (409, 412)' })),
  },
  // RFC 9457 §3.2: problem types may add members, and clients must ignore those they do not know.
  { additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json)' },
)

/** Modules reference error responses by name, so the document holds one `Problem` component. */
export const problemModel = new Elysia({ name: 'problem-model' }).model({ Problem: ProblemSchema })
export const Problem = 'Problem' as const

/** A response without content (204); the document says so instead of describing a body. */
export const NoContent = t.Void()

type Json = Record<string, unknown>
type Operation = { responses?: Record<string, Json>; [key: string]: unknown }

const REASONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Malformed JSON',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Version conflict: the version in the body is not the current one',
  412: 'Precondition failed: If-Match names no current version',
  413: 'Body over the size limit',
  415: 'Not a JSON body in UTF-8',
  422: 'Invalid request: every invalid field is listed',
  428: 'A version is required: send If-Match (a PATCH may send body.version instead)',
  503: 'The database is unavailable; retry after Retry-After seconds',
}

// Required: the server always sends these where the document lists them.
const header = (description: string, schema: Json = { type: 'string' }) => ({
  description,
  required: true,
  schema,
})

/** Headers every response carries, and those that go with particular statuses. */
const HEADERS = {
  RequestId: header('Echoes a well-formed X-Request-Id from the request, or a new UUID'),
  ETag: header('The version of the returned resource, for If-Match'),
  Location: header('The path of the created resource'),
  RetryAfter: header('Seconds to wait before retrying', { type: 'integer', minimum: 0 }),
}
const ref = (name: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${name}` })

/** Elysia's `$id`s are fragments, which JSON Schema 2020-12 forbids in `$id`; component names are enough. */
function withoutIds(schemas: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(schemas).map(([name, { $id: _id, ...schema }]) => [name, schema]))
}

/** True when a success body is a single resource with a version: versionEtag then sends its ETag. */
function hasVersion(schema: Json | undefined, schemas: Record<string, Json>): boolean {
  const target = typeof schema?.$ref === 'string' ? schemas[schema.$ref.split('/').pop() as string] : schema
  return Boolean((target?.properties as Json | undefined)?.version)
}

/** Brings one operation's responses in line with what the server sends. */
function normalizeResponses(operation: Operation, schemas: Record<string, Json>): void {
  const responses = operation.responses ?? {}
  for (const [status, response] of Object.entries(responses)) {
    const code = Number(status)
    const headers: Record<string, Json> = { 'X-Request-Id': ref('RequestId') }
    const content = response.content as Record<string, { schema?: Json }> | undefined
    const schema = content?.['application/json']?.schema
    if (code >= 400) {
      responses[status] = {
        description: REASONS[status] ?? 'Error',
        headers: { ...headers, ...(code === 503 && { 'Retry-After': ref('RetryAfter') }) },
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      }
      continue
    }
    if (code === 201) headers.Location = ref('Location')
    if (hasVersion(schema, schemas)) headers.ETag = ref('ETag')
    responses[status] = {
      description: REASONS[status] ?? 'Success',
      headers,
      // A 204 has no content (RFC 9110 §15.3.5).
      ...(code !== 204 && content && { content: { 'application/json': { schema } } }),
    }
  }
}

export interface DocumentInfo {
  title: string
  version: string
  description: string
  tags: { name: string; description: string }[]
}

/** The OpenAPI 3.1 document of `app`'s routes, as the server really behaves. */
export function openapiDocument(app: AnyElysia, info: DocumentInfo): Json {
  const { paths, components } = toOpenAPISchema(app, { methods: ['options', 'head'] }) as {
    paths: Record<string, Record<string, Operation>>
    components: { schemas: Record<string, Json> }
  }
  const schemas = withoutIds(components.schemas ?? {})
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations)) normalizeResponses(operation, schemas)
  return {
    openapi: '3.1.1',
    info: {
      title: info.title,
      version: info.version,
      description: info.description,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // Relative: the server that serves this document.
    servers: [{ url: '/', description: 'This server' }],
    // The example API has no authentication, on purpose: add a scheme here when yours does.
    security: [],
    tags: info.tags,
    paths,
    components: { schemas, headers: HEADERS },
  }
}

const page = (title: string, specUrl: string) => `<!doctype html>
<html>
  <head>
    <title>${title}</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" data-url="${specUrl}"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
  </body>
</html>
`

/**
 * GET /openapi/json (the document) and GET /openapi (a browsable page); built from `app()` on first request,
 * so every route registered by then is in it.
 */
export function openapiRoutes(app: () => AnyElysia, info: DocumentInfo) {
  let document: Json | undefined
  let routeCount = -1
  const html = page(info.title, '/openapi/json')
  const hidden = { detail: { hide: true } }
  return new Elysia({ name: 'openapi' })
    .get(
      '/openapi',
      () => new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } }),
      hidden,
    )
    .get(
      '/openapi/json',
      () => {
        const current = app()
        if (!document || routeCount !== current.routes.length) {
          document = openapiDocument(current, info)
          routeCount = current.routes.length
        }
        return document
      },
      hidden,
    )
}
