import { afterAll, beforeAll, describe } from 'vitest'
import { describeContract } from './contract'
import { startFromSource } from './contract/source'
import type { ContractTarget } from './contract/target'

// The black-box contract against the app started from source; test/containers runs it against the images.
let source: Awaited<ReturnType<typeof startFromSource>>
beforeAll(async () => {
  source = await startFromSource()
})
afterAll(() => source?.stop())

describe('contract: source', () => {
  describeContract((): ContractTarget => source)
})
