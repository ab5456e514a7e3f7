import { defineConfig } from 'vitest/config'
import { reporters } from './vitest.shared.ts'

// Dev container suite: `devcontainer up` on a copy of the repository, then the test suite inside it.
export default defineConfig({
  test: {
    include: ['test/devcontainer/*.test.ts'],
    // The forks pool cannot start workers under Bun; threads can.
    pool: 'threads',
    reporters,
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
})
