import { chownSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bake, copyWorkTree, leftovers, must, projectName, root, run, since } from '../containers/docker'
import { freePort } from '../ports'

// A developer whose uid is 1000, the dev image's `bun` user, as on Codespaces and most Linux desktops.
const DEVELOPER_UID = 1000

const cli = join(root, 'node_modules/.bin/devcontainer')
const project = projectName('devcontainer')
const tree = await copyWorkTree()
const env = { COMPOSE_PROJECT_NAME: project, API_PORT: String(await freePort()) }
const workspace = ['--workspace-folder', tree.dir]
const exec = (...cmd: string[]) => run([cli, 'exec', ...workspace, ...cmd], { env })
const composeDown = () =>
  run(
    [
      'docker',
      'compose',
      '--project-name',
      project,
      '-f',
      'compose.yaml',
      '-f',
      '.devcontainer/compose.devcontainer.yaml',
      'down',
      '--volumes',
      '--remove-orphans',
      '--timeout',
      '5',
    ],
    { cwd: tree.dir },
  )

function chownTree(dir: string, uid: number): void {
  chownSync(dir, uid, uid)
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) chownTree(path, uid)
    else chownSync(path, uid, uid)
  }
}

interface UpResult {
  outcome: string
  containerId: string
  remoteUser: string
  remoteWorkspaceFolder: string
}

async function up(): Promise<UpResult> {
  const output = await must([cli, 'up', ...workspace, '--log-format', 'json'], { env })
  return JSON.parse(output.trim().split('\n').at(-1) as string) as UpResult
}

async function testsInside(): Promise<string> {
  const result = await exec('env', 'NO_COLOR=1', 'bun', 'run', 'test')
  const output = `${result.stdout}\n${result.stderr}`
  expect(result.code, output.slice(-3000)).toBe(0)
  return output
}

let cold: UpResult

beforeAll(async () => {
  chownTree(tree.dir, DEVELOPER_UID)
  await bake(['dev'])
  const start = performance.now()
  cold = await up()
  const output = await testsInside()
  const passed = /Tests\s+(\d+) passed/.exec(Bun.stripANSI(output))?.[1]
  expect(Number(passed), output.slice(-2000)).toBeGreaterThan(0)
  console.log(`devcontainer up → green \`bun run test\` inside (${passed} tests), cold: ${since(start)} s`)
})

afterAll(async () => {
  await composeDown()
  tree.remove()
})

describe('dev container (.devcontainer/devcontainer.json)', () => {
  it('comes up attached to the api service as the non-root user, in the workspace folder', () => {
    expect(cold).toMatchObject({
      outcome: 'success',
      remoteUser: 'bun',
      remoteWorkspaceFolder: '/workspaces/bakehouse',
    })
  })

  it('passes exit codes through, so a failing command inside fails here', async () => {
    expect((await exec('sh', '-c', 'exit 3')).code).toBe(3)
  })

  it('runs as a user that is not root and can write the workspace', async () => {
    expect((await exec('id', '-u')).stdout.trim()).not.toBe('0')
    const probe = '/workspaces/bakehouse/.write-probe'
    expect((await exec('sh', '-c', `touch ${probe} && rm ${probe}`)).code).toBe(0)
  })

  it('points the tests at the compose database, not an embedded one', async () => {
    expect((await exec('printenv', 'DATABASE_URL')).stdout).toContain('@db:5432/')
    const ready = await exec(
      'bun',
      '-e',
      "console.log((await fetch('http://127.0.0.1:3000/health/ready')).status)",
    )
    expect(ready.stdout.trim()).toBe('200')
  })

  it('has the tools: bun at the pinned version, git, and docker with buildx and compose on the host engine', async () => {
    const pinned = JSON.parse(await Bun.file(join(root, 'package.json')).text()).packageManager.replace(
      'bun@',
      '',
    )
    expect((await exec('bun', '--version')).stdout.trim()).toBe(pinned)
    expect((await exec('git', '--version')).code).toBe(0)
    expect((await exec('docker', 'compose', 'version')).stdout).toMatch(/v?2\./)
    const plan = await exec('docker', 'buildx', 'bake', '--print', 'prod')
    expect(plan.code, plan.stderr).toBe(0)
    expect(JSON.parse(plan.stdout).target.prod.target).toBe('prod')
  })

  it('comes back warm: `devcontainer up` on the existing container, then the tests again', async () => {
    const start = performance.now()
    const warm = await up()
    expect(warm.containerId).toBe(cold.containerId)
    await testsInside()
    console.log(`devcontainer up → green \`bun run test\` inside, warm: ${since(start)} s`)
  })

  it('leaves nothing behind once torn down', async () => {
    await composeDown()
    expect(await leftovers(project)).toEqual([])
  })
})
