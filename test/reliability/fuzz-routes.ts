import fc from 'fast-check'
import type { ContractTarget } from '../contract/target'
import { hostile, SEED } from './fuzzer'

/** Random methods and paths, documented or not: never a 5xx, every error problem+json, every 405 with Allow. */
export async function fuzzUnknownRoutes(
  target: Pick<ContractTarget, 'baseUrl'>,
  { runs, seed = SEED }: { runs: number; seed?: number },
): Promise<{ requests: number; statuses: Record<number, number> }> {
  const segment = fc.oneof(
    hostile.map((text) => encodeURIComponent(text.toWellFormed())),
    fc.constantFrom('notes', 'health', 'live', 'ready', 'openapi', '..', '%2e%2e', ''),
  )
  const unknown = fc.record({
    // Not TRACE: the Fetch standard forbids it, and Bun's fetch drops the answer's body.
    method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD'),
    path: fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
  })
  const statuses: Record<number, number> = {}
  let requests = 0
  await fc.assert(
    fc.asyncProperty(unknown, async ({ method, path }) => {
      const response = await fetch(`${target.baseUrl}${path}`, { method })
      const text = await response.text()
      requests++
      statuses[response.status] = (statuses[response.status] ?? 0) + 1
      const where = `${method} ${path.slice(0, 200)} → ${response.status}: ${text.slice(0, 200)}`
      if (response.status >= 500) throw new Error(`a server error: ${where}`)
      // Bun's HTTP parser answers an oversized request line itself, before any application code runs.
      if (response.status === 431 || response.status === 414) return
      if (response.status === 405 && !response.headers.get('allow'))
        throw new Error(`405 without Allow: ${where}`)
      if (response.status >= 400 && method !== 'HEAD') {
        if (response.headers.get('content-type') !== 'application/problem+json')
          throw new Error(`an error that is not problem+json: ${where}`)
        const problem = JSON.parse(text) as { status?: number }
        if (problem.status !== response.status) throw new Error(`problem.status disagrees: ${where}`)
      }
    }),
    { seed, numRuns: runs },
  )
  return { requests, statuses }
}
