import { describe, expect, it } from 'vitest'
import { type ContractTarget, clientFor } from './target'

/** The whole contract, declared against whichever target `target()` returns once the suite's setup has run. */
export function describeContract(target: () => ContractTarget) {
  describe('health', () => {
    it('answers live and ready', async () => {
      const client = clientFor(target())
      const live = await client.GET('/health/live')
      expect(live.response.status).toBe(200)
      expect(live.data?.status).toBe('ok')
      const ready = await client.GET('/health/ready')
      expect(ready.response.status).toBe(200)
    })
  })
}
