import { defineConfig } from 'vitest/config'
import { reporters } from './vitest.shared.ts'

// Reliability suite: fuzzing, limits, shutdown, faults and image/runtime policy; needs Postgres and Docker.
export default defineConfig({
  test: {
    include: ['test/reliability/*.test.ts'],
    // The forks pool cannot start workers under Bun; threads can.
    pool: 'threads',
    // One file at a time: the timing goals (503 within 3 s, ready within 5 s) must not compete for two cores.
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
    reporters,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
})
