import { EventEmitter } from 'node:events'
import type { PoolRunnerInitializer, PoolWorker, WorkerRequest } from 'vitest/node'
import { init, runBaseTests, setupEnvironment } from 'vitest/worker'

/**
 * A vitest pool that runs test files on the main thread, for debugging only. Bun's inspector cannot see into worker
 * threads (no Worker or Target domain), and vitest's forks pool does not start under Bun, so with the usual threads
 * pool a breakpoint in a test never hits. Messages are cloned as a worker's postMessage would clone them.
 */
const realExit = process.exit

export function mainThreadPool(): PoolRunnerInitializer {
  return { name: 'main-thread', createPoolWorker: () => new MainThreadWorker() }
}

class MainThreadWorker implements PoolWorker {
  readonly name = 'main-thread'
  private readonly toRunner = new EventEmitter()
  private readonly toPool = new EventEmitter()
  private started = false

  on(event: string, callback: (...args: unknown[]) => void) {
    this.toPool.on(event, callback)
  }

  off(event: string, callback: (...args: unknown[]) => void) {
    this.toPool.off(event, callback)
  }

  send(message: WorkerRequest) {
    // The test runtime replaces process.exit to catch tests calling it; vitest itself needs it back to exit.
    if (message.type === 'stop') process.exit = realExit
    // Asynchronous, like a message port, so neither side re-enters the other.
    setImmediate(() => this.toRunner.emit('message', structuredClone(message)))
  }

  deserialize(data: unknown) {
    return data
  }

  async start() {
    if (this.started) return
    this.started = true
    init({
      post: (response) => setImmediate(() => this.toPool.emit('message', structuredClone(response))),
      on: (listener) => this.toRunner.on('message', listener),
      off: (listener) => this.toRunner.off('message', listener),
      teardown: () => this.toRunner.removeAllListeners(),
      runTests: (state, traces) => runBaseTests('run', state, traces),
      collectTests: (state, traces) => runBaseTests('collect', state, traces),
      setup: setupEnvironment,
    })
  }

  async stop() {}
}
