import { describe, expect, it } from 'vitest'
import { expectProblem, unreachableApp } from './helpers'

// Readiness against a server nobody listens on, which a running target cannot be turned into; every other
// health check is in the contract suite (test/contract/health.ts and faults.ts).
describe('GET /health/ready', () => {
  it('answers 503 within 3 s when the database is unreachable', async () => {
    const app = await unreachableApp()
    const started = performance.now()
    const response = await app.handle(new Request('http://localhost/health/ready'))
    const problem = await expectProblem(response, 503)
    // A stated limit (orchestrators act on it), not a speed goal: the probe itself is bounded at 2 s.
    expect(performance.now() - started).toBeLessThan(3_000)
    expect(problem.detail).toBe('the database is not reachable')
    expect(response.headers.get('retry-after')).toBe('5')
  })
})
