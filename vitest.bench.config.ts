import { defineConfig } from 'vitest/config'
import { reporters } from './vitest.shared.ts'

// Benchmark smoke: runs the harness with the quick profile and checks every figure was produced, not its value.
export default defineConfig({
  test: {
    include: ['test/bench/*.test.ts'],
    // The forks pool cannot start workers under Bun; threads can.
    pool: 'threads',
    reporters,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
})
