import net from 'node:net'
import tls from 'node:tls'

// Clients that keep one HTTP/1.1 connection each and send on it every few milliseconds, like API clients with a
// connection pool. A request written on a connection the server then closes without answering is a failure: the
// race a proxy reload loses. A connection the server closed while idle is reopened first, as any client does.

export interface KeepAliveResult {
  ok: number
  failed: number
  /** Connections opened after the first one per client: each one the server closed while idle. */
  reconnects: number
  releases: string[]
  errors: string[]
}

interface Options {
  clients?: number
  intervalMs?: number
  path?: string
  /** PEM of the CA to trust for an https:// URL. */
  ca?: string
  /** The name to ask for (Host header and TLS server name) when the URL's host is an address. */
  servername?: string
  /** false: a new connection (and TLS handshake) for every request, like a client without a pool. */
  reuse?: boolean
}

interface Response {
  status: number
  body: string
  close: boolean
}

class Connection {
  private socket: net.Socket | undefined
  private buffer = Buffer.alloc(0)
  private waiting: { resolve(response: Response): void; reject(error: Error): void } | undefined
  private open = false

  constructor(
    private readonly url: URL,
    private readonly options: Options,
  ) {}

  /** Opens a connection when none is usable; returns whether one was opened. */
  async ensure(): Promise<boolean> {
    if (this.socket && this.open) return false
    const port = Number(this.url.port || (this.url.protocol === 'https:' ? 443 : 80))
    const host = this.url.hostname
    const socket =
      this.url.protocol === 'https:'
        ? tls.connect({ host, port, ca: this.options.ca, servername: this.options.servername ?? host })
        : net.connect({ host, port })
    await new Promise<void>((resolve, reject) => {
      socket.once(this.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => resolve())
      socket.once('error', reject)
    })
    this.socket = socket
    this.open = true
    this.buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.parse()
    })
    const closed = (error?: Error) => {
      // A connection this client already let go of.
      if (this.socket !== socket) return
      this.open = false
      this.waiting?.reject(error ?? new Error('the server closed the connection before answering'))
      this.waiting = undefined
    }
    socket.on('end', () => closed())
    socket.on('close', () => closed())
    socket.on('error', (error) => closed(error))
    return true
  }

  private parse(): void {
    const end = this.buffer.indexOf('\r\n\r\n')
    if (end < 0 || !this.waiting) return
    const head = this.buffer.subarray(0, end).toString('latin1')
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? Number.NaN)
    if (Number.isNaN(length)) {
      this.waiting.reject(new Error(`a response without Content-Length: ${head.split('\r\n')[0]}`))
      this.waiting = undefined
      return
    }
    if (this.buffer.length < end + 4 + length) return
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8')
    this.buffer = this.buffer.subarray(end + 4 + length)
    const status = Number(head.split(' ')[1])
    const close = /\r\nconnection: *close/i.test(head)
    if (close) this.open = false
    this.waiting.resolve({ status, body, close })
    this.waiting = undefined
  }

  request(path: string, timeoutMs: number): Promise<Response> {
    const host = this.options.servername ?? this.url.host
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined
        this.socket?.destroy()
        reject(new Error(`no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiting = {
        resolve: (response) => {
          clearTimeout(timer)
          resolve(response)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
      this.socket?.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\n\r\n`)
    })
  }

  destroy(): void {
    this.socket?.destroy()
    this.socket = undefined
    this.open = false
  }
}

/** Starts `clients` clients against `base` (keep-alive unless `reuse: false`); `stop()` ends them, returning what they saw. */
export function keepAliveClients(base: string, options: Options = {}) {
  const { clients = 8, intervalMs = 20, path = '/health/live', reuse = true } = options
  const url = new URL(base)
  const result: KeepAliveResult = { ok: 0, failed: 0, reconnects: 0, releases: [], errors: [] }
  let running = true
  const loops = Array.from({ length: clients }, async () => {
    const connection = new Connection(url, options)
    let first = true
    while (running) {
      const started = performance.now()
      try {
        if ((await connection.ensure()) && !first && reuse) result.reconnects++
        first = false
        const response = await connection.request(path, 5_000)
        if (response.status !== 200)
          throw new Error(`status ${response.status}: ${response.body.slice(0, 200)}`)
        result.ok++
        const release = (JSON.parse(response.body) as { release?: string }).release
        if (release && result.releases.at(-1) !== release) result.releases.push(release)
        if (!reuse) connection.destroy()
      } catch (error) {
        result.failed++
        if (result.errors.length < 5) result.errors.push((error as Error).message)
        connection.destroy()
      }
      await Bun.sleep(Math.max(0, intervalMs - (performance.now() - started)))
    }
    connection.destroy()
  })
  return {
    async stop(): Promise<KeepAliveResult> {
      running = false
      await Promise.all(loops)
      return result
    },
  }
}
