import { defineConfig } from 'vitest/config'
import { reporters } from './vitest.shared.ts'

// Deploy suite: real deploys through scripts/deploy.mjs over SSH to a local sshd and this machine's Docker engine.
export default defineConfig({
  test: {
    include: ['test/deploy/*.test.ts'],
    // The forks pool cannot start workers under Bun; threads can.
    pool: 'threads',
    // One file at a time, in order: the swarm cases change the engine's mode and must not overlap anything.
    fileParallelism: false,
    reporters,
    testTimeout: 240_000,
    hookTimeout: 600_000,
  },
})
