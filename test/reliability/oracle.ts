import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'

export type Schema = {
  type?: string
  format?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  pattern?: string
  properties?: Record<string, Schema>
  required?: string[]
  const?: unknown
  $ref?: string
}

export interface Parameter {
  name: string
  in: 'path' | 'query' | 'header'
  required?: boolean
  schema: Schema
}

interface Response {
  headers?: Record<string, { $ref?: string; required?: boolean }>
  content?: Record<string, { schema: Schema }>
}

export interface Document {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Parameter[]
        requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> }
        responses: Record<string, Response>
      }
    >
  >
  components: { schemas: Record<string, Schema>; headers?: Record<string, { required?: boolean }> }
}

export interface Operation {
  method: string
  path: string
  parameters: Parameter[]
  body?: Schema
  bodyRequired: boolean
  responses: Record<string, Response>
}

const DOCUMENT_ID = 'https://openapi.invalid/document.json'
const JSON_TYPE = /^application\/json\s*(;\s*charset="?utf-8"?\s*)?$/i

/** References into the document, resolved by Ajv against the document registered under DOCUMENT_ID. */
const absolute = (schema: Schema): Schema =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`))

/**
 * Judges requests and responses by the OpenAPI document alone: whether a request breaks a documented
 * constraint, and whether a response is one the document declares (status, media type, schema, headers).
 */
export function documentOracle(document: Document) {
  // OpenAPI adds keywords JSON Schema does not know (e.g. `example`); they are annotations, not errors.
  const ajv = new Ajv2020({ strict: false, allErrors: false })
  addFormats(ajv)
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components })
  const compiled = new Map<Schema, ValidateFunction>()
  const validator = (schema: Schema) => {
    let validate = compiled.get(schema)
    if (!validate) {
      validate = ajv.compile(absolute(schema))
      compiled.set(schema, validate)
    }
    return validate
  }
  const describe = (validate: ValidateFunction) =>
    (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join(', ')

  const operations: Operation[] = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      body: op.requestBody?.content['application/json']?.schema,
      bodyRequired: op.requestBody?.required ?? false,
      responses: op.responses,
    })),
  )

  /** A parameter as the schema sees it: query and path text read as an integer where an integer is documented. */
  const parsed = (schema: Schema, text: unknown) =>
    schema.type === 'integer' && typeof text === 'string' && /^-?\d+$/.test(text) ? Number(text) : text

  /** Which documented constraint the request breaks, or undefined if it keeps them all. */
  function brokenConstraint(
    op: Operation,
    sent: {
      path: Record<string, unknown>
      query: Record<string, unknown>
      header: Record<string, unknown>
      body?: { text: string; contentType: string | undefined }
    },
  ): string | undefined {
    for (const p of op.parameters) {
      // An empty query parameter counts as not sent (the document says so in info.description).
      const value = p.in === 'query' && sent.query[p.name] === '' ? undefined : sent[p.in][p.name]
      if (value === undefined) {
        if (p.required) return `${p.in} ${p.name} missing`
        continue
      }
      const validate = validator(p.schema)
      if (!validate(parsed(p.schema, value))) return `${p.in} ${p.name}: ${describe(validate)}`
    }
    if (!op.body) return undefined
    if (!sent.body) return op.bodyRequired ? 'body missing' : undefined
    if (!JSON_TYPE.test(sent.body.contentType ?? '')) return `content type ${sent.body.contentType}`
    let value: unknown
    try {
      value = JSON.parse(sent.body.text)
    } catch {
      return 'body is not JSON'
    }
    const validate = validator(op.body)
    return validate(value) ? undefined : `body: ${describe(validate)}`
  }

  /** Why the response is not one the document declares for this operation, or undefined if it is. */
  function responseMismatch(op: Operation, response: globalThis.Response, text: string): string | undefined {
    const declared = op.responses[String(response.status)]
    if (!declared) return `status ${response.status} is not documented for ${op.method} ${op.path}`
    for (const [name, header] of Object.entries(declared.headers ?? {})) {
      const component = header.$ref
        ? document.components.headers?.[header.$ref.split('/').pop() ?? '']
        : header
      if (component?.required && !response.headers.has(name)) return `documented header ${name} missing`
    }
    const contentType = response.headers.get('content-type')?.split(';')[0]?.trim() ?? ''
    if (!declared.content) return text === '' ? undefined : `a body where the document declares none`
    const media = declared.content[contentType]
    if (!media) return `content type ${contentType}, documented: ${Object.keys(declared.content).join(', ')}`
    const validate = validator(media.schema)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return 'a body that is not JSON'
    }
    return validate(body) ? undefined : `body does not match the documented schema: ${describe(validate)}`
  }

  return { operations, brokenConstraint, responseMismatch }
}
