import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { errorCount, parseWrk } from '../../bench/lib/wrk'

// Outputs recorded from wrk 4.1 (Debian 12) against small local servers, byte for byte, trailing spaces included.
const recorded = (name: string) =>
  readFileSync(join(import.meta.dirname, 'wrk-output', `${name}.txt`), 'utf8')

describe('parseWrk on recorded wrk outputs', () => {
  it('reads req/s, the p99 in microseconds or milliseconds, and the request count of a clean run', () => {
    const load = parseWrk(recorded('fast'))
    expect(load).toEqual({
      rps: 38489.63,
      p99Ms: 8.73,
      requests: 77094,
      errors: { connect: 0, read: 0, write: 0, timeout: 0, status: 0 },
    })
    expect(errorCount(load)).toBe(0)
  })

  it('reads a p99 in seconds printed with a trailing space', () => {
    expect(recorded('seconds')).toContain('99%    1.10s \n')
    const load = parseWrk(recorded('seconds'))
    expect(load.p99Ms).toBeCloseTo(1100)
    expect(load.rps).toBe(2.59)
  })

  it('reads a p99 in minutes', () => {
    expect(recorded('minutes')).toContain('99%    1.02m \n')
    expect(parseWrk(recorded('minutes')).p99Ms).toBeCloseTo(61_200)
  })

  it('counts non-2xx answers', () => {
    const load = parseWrk(recorded('non2xx'))
    expect(load.errors.status).toBe(27782)
    expect(errorCount(load)).toBe(27782)
  })

  it('counts timeouts from the socket-errors line', () => {
    const load = parseWrk(recorded('timeouts'))
    expect(load.errors).toEqual({ connect: 0, read: 0, write: 0, timeout: 4, status: 0 })
    expect(load.requests).toBe(11)
  })

  it('counts read and write errors of a server that is gone, with no request answered', () => {
    const load = parseWrk(recorded('refused'))
    expect(load.requests).toBe(0)
    expect(load.errors.read + load.errors.write).toBe(46954)
    expect(errorCount(load)).toBeGreaterThan(0)
  })

  it('rejects output without a summary, quoting it', () => {
    expect(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused\n')).toThrow(
      /expected wrk's summary with --latency, got:\nunable to connect/,
    )
  })
})
