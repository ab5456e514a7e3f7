import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bake, bakeEnv, bunVersion, must, run } from '../containers/docker'

// The edge image as compose.prod.yaml runs it (uid 101, read-only root, no capabilities, a 64 MB /tmp, 128 MB of
// memory) in front of a stand-in api, attacked the way a slow or greedy client would.

const prefix = `bkedge${process.pid}`
const network = `${prefix}-net`
const edge = `${prefix}-edge`
const edgeImage = `bakehouse-edge:${bakeEnv.GIT_SHA}`
let port = 0
const figures: Record<string, unknown> = {}

/**
 * Sends `head` and then `bodyBytes` of body on one connection: the status the edge answered (0: none), when its first
 * byte came, and when the connection ended.
 */
function send(
  head: string,
  bodyBytes: number,
  { stallMs = 0 } = {},
): Promise<{ status: number; answeredMs: number; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now()
    const socket = net.connect({ host: '127.0.0.1', port })
    let answer = ''
    let answeredMs = Number.NaN
    socket.on('connect', () => {
      socket.write(head)
      if (bodyBytes) socket.write(Buffer.alloc(bodyBytes, 'x'))
      // The stall: nothing more is sent, and the socket stays open until the edge gives up.
      if (!stallMs) socket.end()
    })
    socket.on('data', (chunk) => {
      if (!answer) answeredMs = performance.now() - started
      answer += chunk.toString('latin1')
    })
    const done = () =>
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0),
        answeredMs,
        ms: performance.now() - started,
      })
    socket.on('close', done)
    socket.on('error', () => {})
    if (stallMs) setTimeout(() => socket.destroy(), stallMs)
  })
}

const state = async () =>
  JSON.parse(await must(['docker', 'inspect', '--format', '{{json .State}}', edge])) as {
    OOMKilled: boolean
    Running: boolean
    Restarting: boolean
  }

beforeAll(async () => {
  await bake(['edge'])
  await must(['docker', 'network', 'create', network])
  await must([
    ...[
      'docker',
      'run',
      '--detach',
      '--name',
      `${prefix}-api`,
      '--network',
      network,
      '--network-alias',
      'api',
    ],
    ...[`oven/bun:${bunVersion}-slim`, 'bun', '-e'],
    'Bun.serve({ port: 3000, maxRequestBodySize: 1 << 20, fetch: async (r) => Response.json({ ok: true, bytes: (await r.arrayBuffer()).byteLength }) })',
  ])
  // compose.prod.yaml's hardening and limits for the proxy service.
  await must([
    ...['docker', 'run', '--detach', '--name', edge, '--network', network, '--publish', '127.0.0.1::8080'],
    ...['--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true', '--init'],
    ...['--tmpfs', '/tmp:size=64m,uid=101,gid=101,mode=0700', '--memory', '128m', '--cpus', '0.5'],
    edgeImage,
  ])
  port = Number((await must(['docker', 'port', edge, '8080'])).trim().split(':').pop())
  const deadline = performance.now() + 20_000
  while (performance.now() < deadline) {
    const answer = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined)
    if (answer?.status === 200) break
    await Bun.sleep(200)
  }
})

afterAll(async () => {
  await run(['docker', 'rm', '--force', edge, `${prefix}-api`])
  await run(['docker', 'network', 'rm', network])
  console.log(`edge figures: ${JSON.stringify(figures)}`)
})

describe('the edge image under hostile clients', () => {
  it('refuses a declared 15.9 MB body at once with 413, before reading it', async () => {
    const head = `POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15900000\r\n\r\n`
    const answers = await Promise.all(Array.from({ length: 12 }, () => send(head, 0, { stallMs: 15_000 })))
    figures.declaredTooLarge = answers.map((a) => `${a.status} in ${Math.round(a.answeredMs)} ms`)
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(413))
    // Answered at once; nginx then keeps reading (and discarding) for up to 5 s before it closes (lingering close).
    expect(Math.max(...answers.map((a) => a.answeredMs))).toBeLessThan(1_000)
  })

  it('12 connections streaming 1.9 MB each and then stalling cost bounded buffer space, not the memory limit', async () => {
    // Chunked bodies just under the edge's 2 MB limit: buffered to /tmp, then the client goes quiet.
    const chunk = 1_900_000
    const head = `POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.toString(16)}\r\n`
    const stalled = Array.from({ length: 12 }, () => send(head, chunk, { stallMs: 30_000 }))
    await Bun.sleep(3_000)
    // Meanwhile the edge still serves everyone else.
    const during = await fetch(`http://127.0.0.1:${port}/`)
    const memory = await must(['docker', 'stats', '--no-stream', '--format', '{{.MemUsage}}', edge])
    const answers = await Promise.all(stalled)
    figures.stalledUploads = {
      memoryDuring: memory.trim(),
      closedAfter: answers.map((a) => `${a.status || 'no answer'} after ${Math.round(a.ms / 100) / 10} s`),
    }
    expect(during.status).toBe(200)
    // client_body_timeout (10 s): nginx closes each stalled upload without an answer, freeing its buffer.
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(0))
    expect(Math.min(...answers.map((a) => a.ms))).toBeGreaterThan(9_000)
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(15_000)
    expect(await state()).toMatchObject({ OOMKilled: false, Running: true, Restarting: false })
  })

  it('a body over the limit sent in chunks is cut off at 2 MB with 413', async () => {
    const chunk = 3_000_000
    const head = `POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.toString(16)}\r\n`
    const answer = await send(head, chunk, { stallMs: 15_000 })
    expect(answer.status).toBe(413)
    expect(await state()).toMatchObject({ OOMKilled: false, Running: true })
  })

  it('a client that never finishes its headers is dropped after the header timeout', async () => {
    const answer = await send('GET / HTTP/1.1\r\nHost: x\r\n', 0, { stallMs: 30_000 })
    figures.slowHeadersClosedAfterMs = Math.round(answer.ms)
    expect(answer.ms).toBeLessThan(15_000)
    expect(answer.ms).toBeGreaterThan(9_000)
  })
})
