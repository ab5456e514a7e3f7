import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bunVersion, must, root, version } from './docker'

interface Target {
  context: string
  dockerfile: string
  target: string
  tags?: string[]
  args?: Record<string, string>
  labels?: Record<string, string>
  platforms?: string[]
  attest?: string[]
  output?: string[]
  'cache-from'?: string[]
  'cache-to'?: string[]
}

interface Plan {
  group: Record<string, { targets: string[] }>
  target: Record<string, Target>
}

// CI exports CACHE_FROM/CACHE_TO for the real builds; the plan is checked without them unless a test sets them.
const env = {
  GIT_SHA: 'abc1234',
  CREATED: '2026-01-01T00:00:00Z',
  SOURCE: 'https://example.com/bakehouse.git',
  CACHE_FROM: '',
  CACHE_TO: '',
}

/** The merged bake graph (docker-bake.hcl + compose.yaml) as bake resolves it. */
const print = async (targets: string[], extra: Record<string, string> = {}): Promise<Plan> =>
  JSON.parse(await must(['docker', 'buildx', 'bake', '--print', ...targets], { env: { ...env, ...extra } }))

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)$/gim)].map(([, from, name]) => ({
    from,
    name,
  }))

  it('has the stages base → deps → dev → build → prod, in that order', () => {
    const names = stages.map((stage) => stage.name)
    const order = ['base', 'deps', 'dev', 'build', 'prod'].map((name) => names.indexOf(name))
    expect(order).not.toContain(-1)
    expect(order).toEqual([...order].sort((a, b) => a - b))
  })

  it('takes Bun from a Debian-based oven/bun tag whose version defaults to package.json', () => {
    expect(dockerfile).toMatch(new RegExp(`^ARG BUN_VERSION=${bunVersion.replaceAll('.', '\\.')}$`, 'm'))
    const base = stages.find((stage) => stage.name === 'base')
    expect(base?.from).toMatch(/^oven\/bun:\$\{BUN_VERSION\}(-slim|-debian)?$/)
    expect(dockerfile).not.toMatch(/alpine|^# syntax=/im)
  })

  it('installs from the lockfile before the source is copied', () => {
    const install = dockerfile.indexOf('bun install --frozen-lockfile')
    expect(install).toBeGreaterThan(-1)
    expect(dockerfile.slice(0, install)).toContain('--mount=type=cache')
    expect(dockerfile.slice(0, install)).not.toMatch(/^COPY \. /m)
  })
})

describe('docker buildx bake --print', () => {
  it('builds dev and prod by default, with compose.yaml read but adding no other target', async () => {
    const plan = await print([])
    expect(plan.group.default?.targets).toEqual(['dev', 'prod'])
    expect(Object.keys(plan.target).sort()).toEqual(['dev', 'prod'])
  })

  it('resolves the compose `api` service to exactly the dev build', async () => {
    const plan = await print(['dev', 'api'])
    const { dev, api } = plan.target
    expect(dev).toMatchObject({
      context: '.',
      dockerfile: 'Dockerfile',
      target: 'dev',
      tags: ['bakehouse:dev'],
    })
    expect(dev?.args).toEqual({ BUN_VERSION: bunVersion })
    expect(api).toEqual(dev)
  })

  it('tags prod with the git sha and latest and passes the label args, with no attestation the docker driver would refuse', async () => {
    const { target } = await print(['prod'], { VERSION: version })
    expect(target.prod).toMatchObject({ context: '.', dockerfile: 'Dockerfile', target: 'prod' })
    expect(target.prod?.tags).toEqual(['bakehouse:abc1234', 'bakehouse:latest'])
    expect(target.prod?.args).toEqual({
      BUN_VERSION: bunVersion,
      VERSION: version,
      REVISION: 'abc1234',
      CREATED: '2026-01-01T00:00:00Z',
      SOURCE: 'https://example.com/bakehouse.git',
    })
    expect(target.prod?.labels).toMatchObject({ 'org.opencontainers.image.title': 'bakehouse' })
    expect(target.prod?.attest).toBeUndefined()
    expect(target.prod?.platforms).toBeUndefined()
    expect(target.prod?.['cache-from']).toBeUndefined()
  })

  it('pushes release and prod-cross as prod plus an SBOM and max-mode provenance; prod-cross for amd64 and arm64', async () => {
    const { target } = await print(['prod', 'release', 'prod-cross'])
    const { attest, ...release } = target.release as Target
    expect(attest).toEqual(['type=sbom', 'type=provenance,mode=max'])
    expect(release).toEqual(target.prod)
    expect(target['prod-cross']?.platforms).toEqual(['linux/amd64', 'linux/arm64'])
    const { platforms: _, ...cross } = target['prod-cross'] as Target
    expect(cross).toEqual(target.release)
  })

  it('prefixes every tag with REGISTRY and sets cache import/export from CACHE_FROM / CACHE_TO', async () => {
    const { target } = await print(['dev', 'prod'], {
      REGISTRY: 'ghcr.io/acme',
      TAG: 'edge',
      CACHE_FROM: 'type=gha,scope=bakehouse',
      CACHE_TO: 'type=gha,scope=bakehouse,mode=max',
    })
    expect(target.dev?.tags).toEqual(['ghcr.io/acme/bakehouse:dev'])
    expect(target.prod?.tags).toEqual(['ghcr.io/acme/bakehouse:abc1234', 'ghcr.io/acme/bakehouse:edge'])
    expect(target.prod?.['cache-from']).toEqual(['type=gha,scope=bakehouse'])
    expect(target.prod?.['cache-to']).toEqual(['type=gha,scope=bakehouse,mode=max'])
  })

  it('validates with the check stage and exports nothing', async () => {
    const plan = await print(['validate'])
    expect(plan.group.validate?.targets).toEqual(['check'])
    expect(plan.target.check).toMatchObject({ target: 'check', output: ['type=cacheonly'] })
  })
})
