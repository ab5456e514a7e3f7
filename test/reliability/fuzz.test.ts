import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFromSource } from '../contract/source'
import { recordFigures } from './figures'
import { fuzzUnknownRoutes } from './fuzz-routes'
import { fuzz } from './fuzzer'

// The black-box fuzzer against the app started from source; fuzz-image.test.ts runs it against the prod image.
const MIN_REQUESTS = 5_000
// BODY_LIMIT_BYTES of the server under test (the default), so the oversize body generator crosses it.
const BODY_LIMIT = 1024 * 1024

let source: Awaited<ReturnType<typeof startFromSource>>
beforeAll(async () => {
  source = await startFromSource()
})
afterAll(() => source?.stop())

describe('fuzzing the app from source with its own OpenAPI document', () => {
  it(`${MIN_REQUESTS}+ generated requests: no 5xx, every answer as documented, every broken constraint a 4xx`, async () => {
    const { figures, versions } = await fuzz(source, {
      runsPerOperation: Math.ceil(MIN_REQUESTS / 7),
      bodyLimit: BODY_LIMIT,
    })
    const unknown = await fuzzUnknownRoutes(source, { runs: 300 })
    expect(figures.requests).toBeGreaterThanOrEqual(MIN_REQUESTS)
    const [rows] = await source.sql<{ n: number; valid: number }>(
      `select count(*)::int as n,
        count(*) filter (where length(title) between 1 and 200 and version >= 1)::int as valid from notes`,
    )
    expect(rows?.valid).toBe(rows?.n)
    expect(rows?.n).toBe(versions.size)
    const unhandled = (await source.logs()).filter((line) => line.includes('"unhandled error"'))
    expect(unhandled).toEqual([])
    recordFigures('fuzz-source', { ...figures, unknownRoutes: unknown })
  })
})
