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
let trustedPort = 0
const figures: Record<string, unknown> = {}

/**
 * Sends `head` and then `bodyBytes` of body on one connection: the status the edge answered (0: none), when its first
 * byte came, and when the connection ended.
 */
function send(
  head: string,
  bodyBytes: number,
  { stallMs = 0 } = {},
): Promise<{ status: number; raw: string; answeredMs: number; ms: number }> {
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
        raw: answer,
        answeredMs,
        ms: performance.now() - started,
      })
    socket.on('close', done)
    socket.on('error', () => {})
    if (stallMs) setTimeout(() => socket.destroy(), stallMs)
  })
}

/** One raw request on a fresh connection; the whole answer, as text. */
function exchange(target: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = ''
    const socket = net.connect({ host: '127.0.0.1', port: target }, () => socket.write(request))
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
    })
    socket.on('close', () => resolve(answer))
    socket.on('error', () => resolve(answer))
    setTimeout(() => socket.destroy(), 5_000)
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
    // Echoes what the edge forwarded about the client.
    "Bun.serve({ port: 3000, maxRequestBodySize: 1 << 20, fetch: async (r) => Response.json({ bytes: (await r.arrayBuffer()).byteLength, for: r.headers.get('x-forwarded-for'), proto: r.headers.get('x-forwarded-proto'), forwarded: r.headers.get('forwarded') }) })",
  ])
  port = await startEdge(edge)
  // A second edge that believes a TLS terminator at the test network's gateway, where published ports arrive from.
  const gateway = (
    await must(['docker', 'network', 'inspect', '--format', '{{(index .IPAM.Config 0).Gateway}}', network])
  ).trim()
  trustedPort = await startEdge(`${edge}-behind`, {
    EDGE_TRUSTED_PROXIES: gateway,
    EDGE_RATE: '1',
    EDGE_BURST: '1',
  })
})

/** An edge container with compose.prod.yaml's hardening and limits for the proxy; returns its published port. */
async function startEdge(name: string, env: Record<string, string> = {}): Promise<number> {
  await must([
    ...['docker', 'run', '--detach', '--name', name, '--network', network, '--publish', '127.0.0.1::8080'],
    ...['--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true', '--init'],
    ...['--tmpfs', '/tmp:size=64m,uid=101,gid=101,mode=0700', '--memory', '128m', '--cpus', '0.5'],
    ...Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
    edgeImage,
  ])
  const published = Number((await must(['docker', 'port', name, '8080'])).trim().split(':').pop())
  const deadline = performance.now() + 20_000
  while (performance.now() < deadline) {
    const answer = await fetch(`http://127.0.0.1:${published}/`).catch(() => undefined)
    if (answer?.status === 200) return published
    await Bun.sleep(200)
  }
  throw new Error(
    `expected ${name} to serve within 20 s, got:\n${(await run(['docker', 'logs', name])).stderr}`,
  )
}

afterAll(async () => {
  await run(['docker', 'rm', '--force', edge, `${edge}-behind`, `${prefix}-api`])
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

  // Any method with a body is buffered alike, so the cap counts bodies, not POST, PUT and PATCH alone.
  it.each(['POST', 'DELETE'])(
    '12 %s uploads from one address, stalled: 4 buffer (bounded), 8 get 429 at once, none outlives the body timeout',
    async (method) => {
      // Chunked bodies just under the edge's 1 MiB limit: buffered to /tmp, then the client goes quiet.
      const chunk = 1_000_000
      const head = `${method} /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.toString(16)}\r\n`
      const stalled = Array.from({ length: 12 }, () => send(head, chunk, { stallMs: 30_000 }))
      await Bun.sleep(3_000)
      // Meanwhile the edge still serves everyone else.
      const during = await fetch(`http://127.0.0.1:${port}/`)
      const memory = await must(['docker', 'stats', '--no-stream', '--format', '{{.MemUsage}}', edge])
      // nginx unlinks its buffer files at once: the file system's use, not a listing, shows them.
      const buffered =
        (await must(['docker', 'exec', edge, 'df', '-k', '/tmp'])).trim().split('\n')[1]?.split(/\s+/)[2] ??
        ''
      const answers = await Promise.all(stalled)
      figures[`stalledUploads${method}`] = {
        memoryDuring: memory.trim(),
        bufferedKiB: Number.parseInt(buffered, 10),
        answers: answers.map((a) => `${a.status || 'no answer'} after ${Math.round(a.ms / 100) / 10} s`),
      }
      expect(during.status).toBe(200)
      const refused = answers.filter((a) => a.status === 429)
      const dropped = answers.filter((a) => a.status === 0)
      expect([refused.length, dropped.length]).toEqual([8, 4])
      expect(Math.max(...refused.map((a) => a.answeredMs))).toBeLessThan(2_000)
      // client_body_timeout (10 s): nginx closes each stalled upload without an answer, freeing its buffer.
      expect(Math.min(...dropped.map((a) => a.ms))).toBeGreaterThan(9_000)
      expect(Math.max(...dropped.map((a) => a.ms))).toBeLessThan(15_000)
      expect(Number.parseInt(buffered, 10)).toBeGreaterThan(3 * 950)
      expect(Number.parseInt(buffered, 10)).toBeLessThanOrEqual(4 * 1024 + 256)
      expect(await state()).toMatchObject({ OOMKilled: false, Running: true, Restarting: false })
    },
  )

  it('a body over the limit sent in chunks is cut off at 1 MiB with 413', async () => {
    const chunk = 3_000_000
    const head = `POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.toString(16)}\r\n`
    const answer = await send(head, chunk, { stallMs: 15_000 })
    expect(answer.status).toBe(413)
    expect(await state()).toMatchObject({ OOMKilled: false, Running: true })
  })

  // Over HTTP/2 a GET may send a body without a length, which the upload cap cannot count: reads keep theirs in
  // memory or are refused, whatever the protocol (the same location serves both).
  it('a read carrying a body over 64 KiB is refused with 413 problem+json; a plain GET is served', async () => {
    const chunk = 1_000_000
    const head = `GET /health/live HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.toString(16)}\r\n`
    const answer = await send(head, chunk, { stallMs: 15_000 })
    expect(answer.status).toBe(413)
    expect(answer.raw).toContain('application/problem+json')
    // The stand-in api behind this edge echoes what reached it: a plain read, with no body.
    const plain = await fetch(`http://127.0.0.1:${port}/health/live`)
    expect(plain.status).toBe(200)
    expect(await plain.json()).toMatchObject({ bytes: 0, proto: 'http' })
  })

  // Malformed HTTP is refused by nginx itself, before any location (its short HTML page): the status is what counts.
  it('refuses malformed requests with their own status, not a 500', async () => {
    const cases = [
      ['a 20 kB URI', `GET /${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
      [
        'Content-Length with chunked',
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      [
        'an unknown transfer coding',
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
        501,
      ],
    ] as const
    for (const [what, request, status] of cases) {
      const raw = await exchange(port, request)
      expect([what, raw.split('\r\n')[0]]).toEqual([
        what,
        expect.stringMatching(new RegExp(`^HTTP/1.1 ${status} `)),
      ])
    }
  })

  it('believes X-Forwarded-* only from a trusted terminator, and limits the clients it names', async () => {
    const spoofed = {
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      forwarded: 'for=6.6.6.6',
    }
    // Straight from a client: its claims are replaced by what the edge saw.
    const direct = (await (await fetch(`http://127.0.0.1:${port}/`, { headers: spoofed })).json()) as Record<
      string,
      string
    >
    expect(direct.for).not.toContain('203.0.113.9')
    expect(direct.proto).toBe('http')
    expect(direct.forwarded).toBeNull()
    // Through the trusted terminator: its client and scheme are passed on, and each client has its own rate.
    const behind = (url: string, client: string) =>
      fetch(url, { headers: { 'x-forwarded-for': client, 'x-forwarded-proto': 'https' } })
    const first = await behind(`http://127.0.0.1:${trustedPort}/`, '203.0.113.9')
    expect(await first.json()).toMatchObject({ for: '203.0.113.9', proto: 'https' })
    const statuses = async (client: string) =>
      Promise.all(
        Array.from(
          { length: 4 },
          async () => (await behind(`http://127.0.0.1:${trustedPort}/`, client)).status,
        ),
      )
    expect(await statuses('203.0.113.9')).toContain(429)
    expect((await behind(`http://127.0.0.1:${trustedPort}/`, '198.51.100.7')).status).toBe(200)
  })

  it('a client that never finishes its headers is dropped after the header timeout', async () => {
    const answer = await send('GET / HTTP/1.1\r\nHost: x\r\n', 0, { stallMs: 30_000 })
    figures.slowHeadersClosedAfterMs = Math.round(answer.ms)
    expect(answer.ms).toBeLessThan(15_000)
    expect(answer.ms).toBeGreaterThan(9_000)
  })
})
