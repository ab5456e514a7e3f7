import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bake, copyWorkTree, leftovers, must, projectName, root, run, since } from '../containers/docker'
import { freePort } from '../ports'

// `devcontainer up` on a copy of the repository, then the suite inside, for the two owners a checkout has on Linux:
// uid 1000 (a desktop, Codespaces; the dev image's `bun` has that uid too) and root (a VM used as root, a CI runner).
// The CLI runs as the checkout's owner, as it would on that machine.
const cli = join(root, 'node_modules/.bin/devcontainer')
const dockerGid = statSync('/var/run/docker.sock').gid
const launch = JSON.parse(readFileSync(join(root, '.vscode/launch.json'), 'utf8')) as {
  configurations: { name: string; url?: string }[]
}
const inspectorUrl = launch.configurations.find((c) => c.name === 'Attach to API in the dev container')?.url

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

const owners = [
  { uid: 1000, who: 'uid 1000', full: true },
  { uid: 0, who: 'root', full: false },
]

beforeAll(async () => {
  await bake(['dev'])
})

for (const { uid, who, full } of owners) {
  describe(`dev container on a checkout owned by ${who}`, () => {
    const project = projectName(`devcontainer-${uid}`)
    let tree: { dir: string; remove(): void }
    let home = ''
    let env: Record<string, string> = {}
    let cold: UpResult
    // The host user's own process: its uid, and the docker group for the socket.
    const asOwner = (cmd: string[]) =>
      uid === 0 ? cmd : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, `--groups=${dockerGid}`, '--', ...cmd]
    const workspace = () => ['--workspace-folder', tree.dir]
    const exec = (...cmd: string[]) => run(asOwner([cli, 'exec', ...workspace(), ...cmd]), { env })
    const up = async () => {
      const output = await must(asOwner([cli, 'up', ...workspace(), '--log-format', 'json']), { env })
      return JSON.parse(output.trim().split('\n').at(-1) as string) as UpResult
    }
    const testsInside = async () => {
      const result = await exec('env', 'NO_COLOR=1', 'bun', 'run', 'test')
      const output = `${result.stdout}\n${result.stderr}`
      expect(result.code, output.slice(-3000)).toBe(0)
      return output
    }
    const composeDown = () =>
      run(
        [
          ...['docker', 'compose', '--project-name', project],
          ...['-f', 'compose.yaml', '-f', '.devcontainer/compose.devcontainer.yaml'],
          ...['down', '--volumes', '--remove-orphans', '--timeout', '5'],
        ],
        { cwd: tree.dir },
      )

    beforeAll(async () => {
      tree = await copyWorkTree()
      chownTree(tree.dir, uid)
      home = mkdtempSync(join(tmpdir(), 'bakehouse-devcontainer-home-'))
      chownSync(home, uid, uid)
      env = { HOME: home, COMPOSE_PROJECT_NAME: project, API_PORT: String(await freePort()) }
      const start = performance.now()
      cold = await up()
      const output = await testsInside()
      const passed = /Tests\s+(\d+) passed/.exec(Bun.stripANSI(output))?.[1]
      expect(Number(passed), output.slice(-2000)).toBeGreaterThan(0)
      console.log(
        `devcontainer up → green \`bun run test\` inside (${passed} tests), ${who}, cold: ${since(start)} s`,
      )
    })

    afterAll(async () => {
      await composeDown()
      tree.remove()
      rmSync(home, { recursive: true, force: true })
    })

    it('comes up attached to the api service as bun, in the workspace folder', () => {
      expect(cold).toMatchObject({
        outcome: 'success',
        remoteUser: 'bun',
        remoteWorkspaceFolder: '/workspaces/bakehouse',
      })
    })

    it(`writes files in the workspace as ${who}, the checkout's owner`, async () => {
      const probe = '.owner-probe'
      const wrote = await exec('sh', '-c', `echo written > /workspaces/bakehouse/${probe}`)
      expect(wrote.code, wrote.stderr).toBe(0)
      expect(statSync(join(tree.dir, probe)).uid).toBe(uid)
      expect((await exec('id', '-u')).stdout.trim()).toBe(String(uid))
    })

    it('installs dependencies into a volume, leaving the checkout a node_modules mount point of its owner', async () => {
      const modules = join(tree.dir, 'node_modules')
      expect(statSync(modules).uid).toBe(uid)
      expect(readdirSync(modules)).toEqual([])
      const inside = await exec('sh', '-c', 'ls node_modules/.bin/vitest && stat -c %u node_modules')
      expect(inside.code, inside.stderr).toBe(0)
      expect(inside.stdout.trim().split('\n').at(-1)).toBe(String(uid))
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

    it("serves the API under Bun's inspector at the URL .vscode/launch.json attaches to", async () => {
      expect(inspectorUrl).toBeDefined()
      // What the editor does on attach, from inside the container: ask the server process to evaluate something.
      const client = `
        const ws = new WebSocket(process.argv[1])
        ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: "process.argv.join(' ')" } }))
        ws.onmessage = (event) => { console.log(JSON.parse(String(event.data)).result.result.value); process.exit(0) }
        ws.onerror = () => { console.error('no inspector at ' + process.argv[1]); process.exit(1) }`
      const answer = await exec('bun', '-e', client, inspectorUrl as string)
      expect(answer.code, answer.stderr).toBe(0)
      // The server runs the checkout's files at the editor's paths, which is how breakpoints set there bind.
      expect(answer.stdout).toContain(`${cold.remoteWorkspaceFolder}/src/index.ts`)
    })

    if (full) {
      it('passes exit codes through, so a failing command inside fails here', async () => {
        expect((await exec('sh', '-c', 'exit 3')).code).toBe(3)
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
    }

    it('leaves nothing behind once torn down', async () => {
      await composeDown()
      expect(await leftovers(project)).toEqual([])
    })
  })
}
