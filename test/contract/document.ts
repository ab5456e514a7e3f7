import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Answer, Contract } from './harness'
import { PROBLEM } from './target'

const root = join(import.meta.dirname, '../..')

interface Operation {
  operationId?: string
  summary?: string
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>
}
type Document = { paths: Record<string, Record<string, Operation>> }

/** Each documented operation as `METHOD /path/{param}`, with a matcher for the concrete paths it serves. */
function operationsOf(document: Document) {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      key: `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase(),
      matches: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
      operation,
    })),
  )
}

/** The OpenAPI document as served, and the check that this run proved every status it lists. */
export function documentContract(api: Contract) {
  const served = async () => (await (await api.fetch('/openapi/json')).json()) as Document

  describe('the OpenAPI document', () => {
    it('is served exactly as committed in docs/api/openapi.json', async () => {
      const response = await api.fetch('/openapi/json')
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      const committed = JSON.parse(readFileSync(join(root, 'docs/api/openapi.json'), 'utf8'))
      expect(await response.json()).toEqual(committed)
    })

    it('passes Redocly lint with the project rules: no errors, no warnings', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bakehouse-openapi-'))
      try {
        const file = join(dir, 'openapi.json')
        writeFileSync(file, JSON.stringify(await served()))
        const lint = Bun.spawn(
          [
            'bun',
            '--bun',
            'redocly',
            'lint',
            '--config',
            'docs/api/redocly.yaml',
            '--format',
            'stylish',
            file,
          ],
          {
            cwd: root,
            env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
            stdout: 'pipe',
            stderr: 'pipe',
          },
        )
        const [out, err, code] = await Promise.all([
          new Response(lint.stdout).text(),
          new Response(lint.stderr).text(),
          lint.exited,
        ])
        const output = `${out}${err}`
        expect(code, output).toBe(0)
        expect(output).toContain('Your API description is valid')
        expect(output).not.toMatch(/warning/i)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    // Each module's contract lists its own operations; the coverage check below fails on any operation no test calls.
    it('gives every operation its own operationId, a summary and problem+json errors', async () => {
      const operations = operationsOf(await served())
      const ids = operations.map((op) => op.operation.operationId)
      expect(ids.filter((id, index) => !id || ids.indexOf(id) !== index)).toEqual([])
      for (const { key, operation } of operations) {
        expect([key, operation.summary]).toEqual([key, expect.any(String)])
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue
          expect([key, status, response.content]).toEqual([
            key,
            status,
            { [PROBLEM]: { schema: { $ref: '#/components/schemas/Problem' } } },
          ])
        }
      }
    })

    it('has a browsable page at /openapi', async () => {
      const response = await api.fetch('/openapi')
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const html = await response.text()
      expect(html).toContain('<title>bakehouse API</title>')
      expect(html).toContain('data-url="/openapi/json"')
    })
  })
}

/** Run last: every status the document lists for an operation was answered by some test of this run, and back. */
export function coverageContract(api: Contract) {
  describe('what this run proved', () => {
    it('produced every documented status of every operation, and no undocumented one but 500', async () => {
      const operations = operationsOf(
        (await (await fetch(`${api.target.baseUrl}/openapi/json`)).json()) as Document,
      )
      const seen = new Map<string, Set<string>>()
      for (const answer of api.answers) {
        const operation = operations.find((op) => op.method === answer.method && op.matches.test(answer.path))
        if (!operation) continue
        const statuses = seen.get(operation.key) ?? new Set()
        statuses.add(String(answer.status))
        seen.set(operation.key, statuses)
      }
      for (const { key, operation } of operations) {
        const documented = Object.keys(operation.responses).sort()
        const produced = [...(seen.get(key) ?? [])].sort()
        expect({ key, untested: documented.filter((status) => !produced.includes(status)) }).toEqual({
          key,
          untested: [],
        })
        expect({ key, undocumented: produced.filter((s) => !documented.includes(s) && s !== '500') }).toEqual(
          {
            key,
            undocumented: [],
          },
        )
      }
    })

    it('sent X-Request-Id and the right Content-Type with every answer, and Retry-After with every 503', () => {
      expect(api.answers.length).toBeGreaterThan(100)
      const wrong = (check: (answer: Answer) => boolean) =>
        api.answers.filter((answer) => !check(answer)).map((a) => `${a.method} ${a.path} ${a.status}`)
      expect(wrong((a) => Boolean(a.requestId))).toEqual([])
      expect(wrong((a) => (a.status === 204 ? a.contentType === null : a.contentType !== null))).toEqual([])
      expect(wrong((a) => a.status < 400 || a.contentType === PROBLEM)).toEqual([])
      expect(
        wrong(
          (a) =>
            a.status >= 400 || a.status === 204 || /^(application\/json|text\/html)/.test(`${a.contentType}`),
        ),
      ).toEqual([])
      expect(wrong((a) => a.status !== 503 || /^[1-9]\d*$/.test(`${a.retryAfter}`))).toEqual([])
    })
  })
}
