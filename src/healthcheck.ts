import { loadConfig } from './config'

// The prod image's HEALTHCHECK: /health/ready until it has passed once in this container, /health/live after that.
// `compose up --wait`, the proxy and a swarm start-first update so wait for a connected, migrated API, while a later
// database outage turns only /health/ready 503 and never gets a serving container marked unhealthy and replaced.
const { port } = loadConfig()
// On the container's /tmp tmpfs: a restarted container starts without it and must be ready again.
const PASSED_ONCE = '/tmp/bakehouse-ready-once'

const passed = await Bun.file(PASSED_ONCE).exists()
const response = await fetch(`http://127.0.0.1:${port}/health/${passed ? 'live' : 'ready'}`, {
  signal: AbortSignal.timeout(2_500),
}).catch(() => undefined)
// A read-only /tmp (no tmpfs) only means readiness is asked again next time.
if (response?.ok && !passed) await Bun.write(PASSED_ONCE, `${new Date().toISOString()}\n`).catch(() => {})
process.exit(response?.ok ? 0 : 1)
