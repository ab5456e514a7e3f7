import { describe, expect, it } from 'vitest'
import { freePort, startProcess } from '../../bench/lib/procs'
import type { Profile } from '../../bench/lib/profile'
import { type Contender, loadRounds, loadTable, type Measured, ratioOf } from '../../bench/lib/rounds'

const profile: Profile = {
  name: 'smoke',
  rounds: 2,
  seconds: 1,
  warmupSeconds: 1,
  connections: 2,
  startRounds: 1,
  buildRounds: 1,
  devRounds: 1,
}

/** A one-line Bun server answering every request with `status`. */
const server = (name: string, status: number): Contender => ({
  name,
  start: () =>
    startProcess(
      name,
      [
        'bun',
        '-e',
        `Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT), fetch: (r) => new URL(r.url).pathname === '/ready' ? new Response('ok') : new Response('x', { status: ${status} }) })`,
      ],
      { port: freePort(), ready: '/ready' },
    ),
})

describe('loadRounds', () => {
  it('marks a contender that does not start or answers 500 as failed, and measures the others', async () => {
    const measured = await loadRounds(
      [
        server('healthy', 200),
        { name: 'never starts', start: () => Promise.reject(new Error('exited 1:\nstack trace')) },
        server('answers 500', 500),
        server('also healthy', 200),
      ],
      (s) => ({ url: `${s.base}/` }),
      profile,
    )
    const [healthy, never, errors, also] = measured as [Measured, Measured, Measured, Measured]
    expect(healthy.failure).toBeUndefined()
    expect(healthy.rps).toHaveLength(2)
    expect(also.rps).toHaveLength(2)
    expect(never.failure).toBe('start: exited 1:')
    expect(errors.failure).toMatch(
      /^warm-up: expected only 2xx answers from http:\/\/127\.0\.0\.1:\d+\/, got \d+ failures:$/,
    )
    expect(errors.rps).toEqual([])
    expect(ratioOf(healthy, also)).toBeGreaterThan(0)
    expect(ratioOf(healthy, errors)).toBeNaN()
    const table = loadTable(measured)
    expect(table[1]).toEqual(['never starts', 'failed', 'failed', 'failed'])
    expect(table[3]?.slice(1).every((value) => typeof value === 'number')).toBe(true)
  }, 60_000)
})
