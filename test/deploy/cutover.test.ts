import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { switchScript } from '../../scripts/deploy/cutover.mjs'
import { run } from '../containers/docker'

// The cutover's switch script in a scratch shell, with docker and compose played by shell functions: what happens to
// the live upstream file when the proxy cannot reach the new container, never serves it, or the script is hung up.

let dir = ''
const settings = { domains: [] }
const upstream = () => readFileSync(join(dir, 'deploy/upstream/live'), 'utf8').trim()
const leftovers = () => readdirSync(join(dir, 'deploy/upstream')).filter((file) => file !== 'live')

/**
 * Runs the switch to `api-2` with the proxy's answers chosen by `proxy`: whether the edge accepts its settings
 * (check), reaches the new container (ready) and serves it (release).
 */
function switchWith(proxy: {
  check?: boolean
  start?: boolean
  reach: boolean
  serve: 'new' | 'old' | 'hangup'
}) {
  const fakes = `
    set -eu
    REL=rel-new
    compose() {
      case "$*" in
        *" proxy check") ${proxy.check === false ? 'echo "edge: invalid settings: EDGE_RATE (a whole number above 0, got \'0\')"; return 2' : ':'} ;;
        *" up "*) ${proxy.start === false ? 'echo "Container bakehouse-proxy-1  Error"; echo "dependency failed to start: container bakehouse-proxy-1 is unhealthy"; return 1' : ':'} ;;
      esac
    }
    ps_service() { echo "proxy1 bakehouse-proxy-1 running"; }
    sleep() { :; }
    docker() {
      case "$*" in
        *"api-2:3000/health/ready"*) ${proxy.reach ? 'return 0' : 'return 7'} ;;
        *"8081/health/live"*) ${
          proxy.serve === 'new'
            ? `printf '{"release":"%s"}' "$REL"`
            : proxy.serve === 'hangup'
              ? 'kill -HUP $$'
              : `printf '{"release":"rel-old"}'`
        } ;;
      esac
    }
  `
  return run(['sh', '-c', `${fakes}\n${switchScript(settings, 'api-2')}`], { cwd: dir })
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bakehouse-switch-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('the cutover switch (scripts/deploy/cutover.mjs switchScript)', () => {
  const seed = () => {
    mkdirSync(join(dir, 'deploy/upstream'), { recursive: true })
    writeFileSync(join(dir, 'deploy/upstream/live'), 'api-1:3000\n')
  }

  it('moves traffic to the new container once the proxy reaches it and serves its release', async () => {
    seed()
    const result = await switchWith({ reach: true, serve: 'new' })
    expect(result.code, result.stderr).toBe(0)
    expect(upstream()).toBe('api-2:3000')
    expect(leftovers()).toEqual([])
  })

  // Each failure before or after the rename leaves the previous upstream live, says why, and leaves no file behind.
  it.each<[string, Parameters<typeof switchWith>[0], string[]]>([
    [
      'keeps the running proxy when the edge refuses its settings',
      { check: false, reach: true, serve: 'new' },
      ['the edge refuses its settings, so the running proxy is kept', 'EDGE_RATE'],
    ],
    [
      "stops with compose's own words when the edge does not start, traffic left where it was",
      { start: false, reach: true, serve: 'new' },
      ['the edge did not start: Container bakehouse-proxy-1  Error', 'bakehouse-proxy-1 is unhealthy'],
    ],
    [
      'leaves traffic where it was when the proxy cannot reach the new container',
      { reach: false, serve: 'new' },
      ['the proxy cannot reach api-2:3000'],
    ],
    [
      'puts the previous upstream back when the proxy never serves the new release',
      { reach: true, serve: 'old' },
      ['proxy still serves'],
    ],
  ])('%s', async (_title, proxy, messages) => {
    seed()
    const result = await switchWith(proxy)
    expect(result.code).toBe(1)
    for (const message of messages) expect(result.stderr).toContain(message)
    expect(upstream()).toBe('api-1:3000')
    expect(leftovers()).toEqual([])
  })

  it('puts the previous upstream back when the script is hung up mid-switch (a lost SSH connection)', async () => {
    seed()
    const result = await switchWith({ reach: true, serve: 'hangup' })
    expect(result.code).not.toBe(0)
    expect(upstream()).toBe('api-1:3000')
    expect(leftovers()).toEqual([])
  })
})
