import { defineConfig } from 'vitest/config'
import { reporters } from './vitest.shared.ts'

// README suite: every shell command in README.md, as written, against this machine's Docker and a local sshd.
export default defineConfig({
  test: {
    include: ['test/readme/*.test.ts'],
    // The forks pool cannot start workers under Bun; threads can.
    pool: 'threads',
    // In order: a block's commands build on each other, as in a reader's terminal.
    sequence: { concurrent: false },
    reporters,
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
})
