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

  it('encrypts every overlay, so database and proxy-to-api traffic between nodes is not in clear', () => {
    expect(Object.keys(stack.networks).sort()).toEqual(['backend', 'edge'])
    for (const network of Object.values(stack.networks))
      expect(network).toHaveProperty('driver_opts.encrypted', '')
    expect(stack.networks.backend.internal).toBe(true)
    // DEPLOY_OVERLAY_ENCRYPTION=off, for kernels without IPsec ESP.
    const plain = YAML.parse(stackFile(compose, { dir: '/srv/bakehouse', encrypted: false }))
    expect(plain.networks).toEqual({ backend: { internal: true }, edge: {} })
  })

  it('leaves out the db init script config, which swarm cannot update: the deploy runs the script itself', () => {
    expect(stack.configs).toBeUndefined()
    expect(stack.services.db.configs).toBeUndefined()
    // Left for the server to fill in, as every setting.
    expect(stack.services.db.environment.DATABASE_APP_USER).toMatch(/^\$\{DATABASE_APP_USER:-/)
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
