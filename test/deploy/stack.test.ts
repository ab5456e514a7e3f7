import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { YAML } from 'zx'
import { serverComposeFile, stackFile } from '../../scripts/deploy/stack.mjs'

const compose = readFileSync(join(import.meta.dirname, '../../compose.prod.yaml'), 'utf8')
const stack = YAML.parse(stackFile(compose, { dir: '/srv/bakehouse', https: true }))
const tmp = (service: string) =>
  stack.services[service].volumes.find((volume: { target?: string }) => volume.target === '/tmp')

describe('the swarm stack file', () => {
  it('keeps the size of sized tmpfs mounts, so the edge buffers slow uploads in a bounded space', () => {
    // compose.prod.yaml: /tmp:size=64m for the proxy, size=16m for acme; swarm takes the size in bytes.
    expect(tmp('proxy')).toEqual({ type: 'tmpfs', target: '/tmp', tmpfs: { size: 64 * 1024 ** 2 } })
    expect(tmp('acme')).toEqual({ type: 'tmpfs', target: '/tmp', tmpfs: { size: 16 * 1024 ** 2 } })
    expect(tmp('api')).toEqual({ type: 'tmpfs', target: '/tmp' })
  })
})

describe('the compose file the deploy runs', () => {
  it('publishes no api port, so nothing on the server reaches the api around the edge', () => {
    const server = YAML.parse(serverComposeFile(compose))
    expect(server.services.api.ports).toBeUndefined()
    expect(server.services.proxy.ports).toHaveLength(2)
    expect(server.services.api.read_only).toBe(true)
    expect(Object.keys(server).filter((key) => key.startsWith('x-'))).toEqual([])
  })
})
