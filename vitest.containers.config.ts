import { defineConfig } from 'vitest/config'

// Container suite: builds images and runs the compose stacks for real, so it needs Docker and is slow.
export default defineConfig({
  test: {
    include: ['test/containers/*.test.ts'],
    // The forks pool cannot start workers under Bun; threads can.
    pool: 'threads',
    // One file at a time: they share the image build cache and two cores.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
  },
})
