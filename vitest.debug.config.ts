import { defineConfig } from 'vitest/config'
import { mainThreadPool } from './test/debug-pool.ts'

// "Debug current test file" (.vscode/launch.json): any suite's file, on the main thread where Bun's debugger can
// stop in it, with no timeouts while paused at a breakpoint.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: mainThreadPool(),
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 0,
    hookTimeout: 0,
  },
})
