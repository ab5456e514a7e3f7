import { defineConfig } from 'vitest/config'
import { reporters } from './vitest.shared.ts'

export default defineConfig({
  test: {
    include: ['test/*.test.ts'],
    // The forks pool cannot start workers under Bun; threads can.
    pool: 'threads',
    globalSetup: ['test/global-setup.ts'],
    reporters,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
