import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bake, must, prodStack, run } from '../containers/docker'
import { recordFigures } from './figures'
import { fuzzUnknownRoutes } from './fuzz-routes'
import { fuzz } from './fuzzer'

// The same fuzzer and seed as fuzz.test.ts, against the prod image in the hardened prod stack: the artifact users run.
const MIN_REQUESTS = 5_000
const BODY_LIMIT = 1024 * 1024

const stack = await prodStack('fuzz-image')
const psql = (query: string) =>
  stack.compose('exec', '-T', 'db', 'psql', '--username=bakehouse', '--dbname=bakehouse', '-At', '-c', query)

beforeAll(async () => {
  await bake(['prod'])
  // Migrates first (a one-shot the api waits on) and returns once the api is ready.
  await stack.compose('up', '--detach', '--wait')
})

afterAll(async () => {
  await run([...stack.composeArgs, 'down', '--volumes', '--remove-orphans', '--timeout', '5'], {
    env: stack.env,
  })
  stack.remove()
})

describe('fuzzing the prod image with the OpenAPI document it serves', () => {
  it(`${MIN_REQUESTS}+ generated requests: no 5xx, every answer as documented, every broken constraint a 4xx`, async () => {
    const target = { baseUrl: stack.base }
    const { figures, versions } = await fuzz(target, {
      runsPerOperation: Math.ceil(MIN_REQUESTS / 7),
      bodyLimit: BODY_LIMIT,
    })
    const unknown = await fuzzUnknownRoutes(target, { runs: 300 })
    expect(figures.requests).toBeGreaterThanOrEqual(MIN_REQUESTS)
    const [total, valid] = (
      await psql(
        'select count(*), count(*) filter (where length(title) between 1 and 200 and version >= 1) from notes',
      )
    )
      .trim()
      .split('|')
      .map(Number)
    expect(valid).toBe(total)
    expect(total).toBe(versions.size)
    const logs = await must(['docker', 'logs', await stack.containerOf('api')])
    expect(logs.split('\n').filter((line) => line.includes('"unhandled error"'))).toEqual([])
    recordFigures('fuzz-image', { ...figures, unknownRoutes: unknown })
  })
})
