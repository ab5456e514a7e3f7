import { defineConfig } from 'vitest/config'
import { mainThreadPool } from './test/debug-pool.ts'

// Every suite is a named project: `bun --bun vitest run --project containers` (package.json's test:* scripts).
// The forks pool cannot start workers under Bun; threads can, so every project but `debug` uses them.
const threads = { pool: 'threads' as const }
// A real Postgres for the in-process and source-started tests: DATABASE_URL, else a throwaway embedded one.
const database = { globalSetup: ['test/global-setup.ts'] }

export default defineConfig({
  test: {
    // CI also asks for a JSON report (VITEST_JSON_REPORT) to add up the totals of every suite.
    reporters: process.env.VITEST_JSON_REPORT
      ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]]
      : ['default'],
    projects: [
      {
        test: {
          name: 'api',
          include: ['test/*.test.ts'],
          ...threads,
          ...database,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // `bun run module:create` on a copy of the tree, then check and test there; not in `api`, whose copy it runs.
        test: {
          name: 'module',
          include: ['test/module/*.test.ts'],
          ...threads,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Builds the images and runs both compose stacks for real; one file at a time on two cores.
        test: {
          name: 'containers',
          include: ['test/containers/*.test.ts'],
          ...threads,
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
      {
        // `devcontainer up` on copies of the repository, then the test suite inside them.
        test: {
          name: 'devcontainer',
          include: ['test/devcontainer/*.test.ts'],
          ...threads,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
      {
        // Fuzzing, limits, shutdown, faults and policy; one file at a time so timing goals do not compete.
        test: {
          name: 'reliability',
          include: ['test/reliability/*.test.ts'],
          ...threads,
          ...database,
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // The benchmark harness with its quick profile: every figure produced, not its value.
        test: {
          name: 'bench',
          include: ['test/bench/*.test.ts'],
          ...threads,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        // Every shell command of README.md as written, in order, as in a reader's terminal.
        test: {
          name: 'readme',
          include: ['test/readme/*.test.ts'],
          ...threads,
          sequence: { concurrent: false },
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
      {
        // Real deploys over SSH to docker-in-docker servers; one file at a time, so two clusters never share 2 cores.
        test: {
          name: 'deploy',
          include: ['test/deploy/*.test.ts'],
          ...threads,
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 600_000,
        },
      },
      {
        // "Debug current test file" (.vscode/launch.json): any suite's file on the main thread, where Bun's
        // debugger can stop in it, with no timeouts while paused at a breakpoint.
        test: {
          name: 'debug',
          include: ['test/**/*.test.ts'],
          pool: mainThreadPool(),
          ...database,
          testTimeout: 0,
          hookTimeout: 0,
        },
      },
    ],
  },
})
