import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { freePort } from './ports'

// .vscode/launch.json's "Debug current test file", started the way the Bun extension starts it (bun, its runtime
// arguments, an inspector, the program and its arguments), driven over Bun's inspector protocol like the editor.
const root = join(import.meta.dirname, '..')
const fixture = join(root, 'test/debug/breakpoint.test.ts')
const breakpointLine = readFileSync(fixture, 'utf8')
  .split('\n')
  .findIndex((line) => line.includes('// breakpoint'))

const RUN_VARIABLES = /^(VITEST.*|TEST|NODE_ENV|MODE|DEV|PROD|SSR|BASE_URL|npm_.*)$/

interface LaunchConfig {
  name: string
  runtimeArgs?: string[]
  program: string
  args?: string[]
  cwd: string
}
const { configurations } = JSON.parse(readFileSync(join(root, '.vscode/launch.json'), 'utf8')) as {
  configurations: LaunchConfig[]
}

/** A WebSocket client for Bun's inspector: request/response by id, and the next event of a kind. */
async function connect(url: string) {
  let socket: WebSocket | undefined
  for (const deadline = Date.now() + 15_000; !socket; await Bun.sleep(100)) {
    socket = await new Promise<WebSocket | undefined>((resolve) => {
      const ws = new WebSocket(url)
      ws.onopen = () => resolve(ws)
      ws.onerror = () => resolve(undefined)
    })
    if (!socket && Date.now() > deadline) throw new Error(`expected an inspector at ${url}, got none`)
  }
  const ws = socket
  let id = 0
  const replies = new Map<number, (message: { result?: unknown; error?: unknown }) => void>()
  const waiting = new Map<string, (params: unknown) => void>()
  ws.onmessage = (event) => {
    const message = JSON.parse(String(event.data))
    if (message.id) replies.get(message.id)?.(message)
    else waiting.get(message.method)?.(message.params)
  }
  return {
    send: (method: string, params: object = {}) =>
      new Promise<{ result?: unknown; error?: unknown }>((resolve) => {
        replies.set(++id, resolve)
        ws.send(JSON.stringify({ id, method, params }))
      }),
    next: <T>(method: string) =>
      new Promise<T>((resolve) => waiting.set(method, resolve as (p: unknown) => void)),
    close: () => ws.close(),
  }
}

describe('.vscode/launch.json: Debug current test file', () => {
  it('stops at a breakpoint in the test file, shows its locals, and the run passes after resuming', async () => {
    const config = configurations.find((c) => c.name === 'Debug current test file')
    if (!config) throw new Error('expected a "Debug current test file" configuration in .vscode/launch.json')
    // VS Code's variables, as the editor substitutes them.
    const resolve = (value: string) =>
      value.replace(/\$\{workspaceFolder\}/g, root).replace(/\$\{file\}/g, fixture)
    const url = `ws://127.0.0.1:${await freePort()}/debug`
    const logs = mkdtempSync(join(tmpdir(), 'bakehouse-debug-'))
    const child = Bun.spawn(
      [
        'bun',
        ...(config.runtimeArgs ?? []),
        `--inspect-wait=${url.slice('ws://'.length)}`,
        resolve(config.program),
        ...(config.args ?? []).map(resolve),
      ],
      {
        cwd: resolve(config.cwd),
        // As from the editor: without the variables this test run sets (VITEST_*, NODE_ENV, Vite's MODE, DEV, SSR…),
        // which would make the child act as part of this run. The suite's own database server, so the debug config's
        // global setup starts none.
        env: {
          ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !RUN_VARIABLES.test(key))),
          DATABASE_URL: inject('adminDatabaseUrl'),
          NO_COLOR: '1',
        },
        // Files, not pipes: with its output piped, the paused child never reported the pause.
        stdout: Bun.file(join(logs, 'stdout')),
        stderr: Bun.file(join(logs, 'stderr')),
      },
    )
    const inspector = await connect(url)
    try {
      await inspector.send('Inspector.enable')
      await inspector.send('Debugger.enable')
      await inspector.send('Debugger.setBreakpointsActive', { active: true })
      const set = await inspector.send('Debugger.setBreakpointByUrl', {
        url: fixture,
        lineNumber: breakpointLine,
      })
      expect(set.error).toBeUndefined()
      const paused = inspector.next<{
        callFrames: { callFrameId: string; location: { lineNumber: number } }[]
      }>('Debugger.paused')
      // Answered only once the program runs on; the pause comes first.
      inspector.send('Inspector.initialized')
      const [frame] = (await paused).callFrames
      expect(frame?.location.lineNumber).toBe(breakpointLine)
      const local = await inspector.send('Debugger.evaluateOnCallFrame', {
        callFrameId: frame?.callFrameId,
        expression: "loaves.join(',')",
      })
      expect(local.result).toMatchObject({ result: { value: 'rye,spelt' } })
      await inspector.send('Debugger.resume')
      inspector.close()
      const code = await child.exited
      const [stdout, stderr] = await Promise.all(
        ['stdout', 'stderr'].map((f) => Bun.file(join(logs, f)).text()),
      )
      expect(code, `${stdout}\n${stderr}`).toBe(0)
      expect(stdout).toMatch(/Tests\s+1 passed/)
    } finally {
      inspector.close()
      child.kill()
      rmSync(logs, { recursive: true, force: true })
    }
  })
})
