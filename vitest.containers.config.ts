import { defineConfig } from 'vitest/config'
import { reporters } from './vitest.shared.ts'

// Container suite: builds the images and runs both compose stacks for real, so it needs Docker.
export default defineConfig({
  test: {
    include: ['test/containers/*.test.ts'],
    // The forks pool cannot start workers under Bun; threads can.
    pool: 'threads',
    // One file at a time: they share the image build cache and two cores.
    fileParallelism: false,
    reporters,
    testTimeout: 180_000,
    hookTimeout: 600_000,
  },
})
