import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyWorkTree, must, projectName, root, run } from '../containers/docker'
import { type SshServer, startSshServer } from '../deploy/server'
import { freePort } from '../ports'
import { ELSEWHERE, placeholders, SERVERS, SKIPS, shellBlocks, substitute, withoutComment } from './commands'

// Every shell command in README.md, run as written, block by block, in a throwaway copy of the repository with its
// own git history: against this machine's Docker engine and a local sshd standing in for the example server.
// Commands of a block share one shell's exported variables, as in a terminal.

const blocks = shellBlocks(readFileSync(join(root, 'README.md'), 'utf8'))
const all = blocks.flatMap((block) => block.commands)
const base = projectName('readme')
const counts = { ran: 0, skipped: 0 }

// Variables of this test run and settings that would change what the commands resolve; each command gets the rest.
const DROP =
  /^(VITEST.*|TEST|NODE_ENV|MODE|DEV|PROD|SSR|BASE_URL|npm_.*|DATABASE_.*|IMAGE|REGISTRY|TAG|GIT_SHA|VERSION|SOURCE|CREATED|API_PORT|API_BIND|PORT|COMPOSE_.*|DEPLOY_.*|DOCKER_CONFIG)$/
const inherited = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !DROP.test(key)),
) as Record<string, string>

let tree: { dir: string; remove(): void }
let scratch = ''
let ssh: SshServer
let apiPort = 0
let env: Record<string, string> = {}
let pairs: [RegExp, string][] = []
const projects: string[] = []

beforeAll(async () => {
  tree = await copyWorkTree()
  scratch = mkdtempSync(join(tmpdir(), 'bakehouse-readme-'))
  ssh = await startSshServer()
  apiPort = await freePort()
  const proxyPort = await freePort()
  const git = (...args: string[]) =>
    must(['git', '-c', 'user.name=Reader', '-c', 'user.email=reader@example.com', ...args], { cwd: tree.dir })
  await git('init', '--quiet', '--initial-branch=main')
  await git('add', '--all')
  await git('commit', '--quiet', '--message', 'a fresh clone')
  pairs = placeholders({
    sshHost: ssh.host,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    etc: join(scratch, 'etc'),
    apiPort,
  })
  const npmPrefix = join(scratch, 'npm-global')
  env = {
    ...inherited,
    // A global npm install (the quick start's `npm i -g bun@…`) lands here and comes first on PATH, as on a new machine.
    npm_config_prefix: npmPrefix,
    PATH: `${npmPrefix}/bin:${process.env.PATH}`,
    // Builders a command creates (`docker buildx create`) are recorded here, not in the machine's ~/.docker.
    DOCKER_CONFIG: join(scratch, 'docker'),
    PORT: String(apiPort),
    API_PORT: String(apiPort),
    EMBEDDED_DATABASE_PORT: String(await freePort()),
    DEPLOY_SSH_CONFIG: ssh.sshConfig,
    DEPLOY_DIR: join(scratch, 'server'),
    DEPLOY_PROJECT: `${base}-deploy`,
    DEPLOY_PROXY_BIND: '127.0.0.1',
    DEPLOY_PROXY_PORT: String(proxyPort),
    DEPLOY_MIN_FREE_MB: '512',
    FORCE_COLOR: '0',
  }
  projects.push(env.DEPLOY_PROJECT as string)
}, 120_000)

afterAll(async () => {
  for (const project of projects) await removeProject(project)
  const sha = (await run(['git', 'rev-parse', '--short', 'HEAD'], { cwd: tree?.dir })).stdout.trim()
  // The release image only the deploy built; the tags the README's bake made are the project's usual ones.
  if (sha) await run(['docker', 'image', 'rm', `bakehouse:${sha}`])
  await ssh?.stop()
  tree?.remove()
  rmSync(scratch, { recursive: true, force: true })
  const summary = `README commands: ${counts.ran} ran, ${counts.skipped} skipped`
  console.log(summary)
  if (process.env.README_SUMMARY_FILE) writeFileSync(process.env.README_SUMMARY_FILE, `${summary}\n`)
}, 300_000)

/** Containers, networks and volumes of one compose project, by label. */
async function removeProject(project: string): Promise<void> {
  const filter = `label=com.docker.compose.project=${project}`
  const list = async (...cmd: string[]) =>
    (await must([...cmd, '--filter', filter])).split('\n').filter(Boolean)
  const containers = await list('docker', 'ps', '--all', '--quiet')
  if (containers.length) await run(['docker', 'rm', '--force', '--volumes', ...containers])
  const networks = await list('docker', 'network', 'ls', '--quiet')
  if (networks.length) await run(['docker', 'network', 'rm', ...networks])
  const volumes = await list('docker', 'volume', 'ls', '--quiet')
  if (volumes.length) await run(['docker', 'volume', 'rm', '--force', ...volumes])
}

/** Starts `command` in bash, in its own process group (so Ctrl-C can reach all of it), loading and saving the block's exports. */
function start(command: string, state: string, logFile: string, project: string, cwd = tree.dir) {
  const script = `[ -f ${state} ] && . ${state}\n${command}\ncode=$?\nexport -p > ${state}\nexit $code\n`
  return Bun.spawn(['setsid', 'bash', '-c', script], {
    cwd,
    env: { ...env, COMPOSE_PROJECT_NAME: project },
    stdin: 'ignore',
    stdout: Bun.file(logFile),
    stderr: Bun.file(`${logFile}.err`),
  })
}

const tail = (logFile: string) =>
  ['', '.err']
    .map((suffix) => (existsSync(logFile + suffix) ? readFileSync(logFile + suffix, 'utf8') : ''))
    .join('\n')
    .slice(-3000)

const status = (path: string) =>
  fetch(`http://127.0.0.1:${apiPort}${path}`, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.status,
    () => 0,
  )

describe('README.md', () => {
  it('has shell commands, and every skip and elsewhere entry still matches one of them', () => {
    expect(all.length).toBeGreaterThan(0)
    for (const { pattern } of [...SKIPS, ...ELSEWHERE])
      expect(
        all.some((command) => pattern.test(withoutComment(command))),
        String(pattern),
      ).toBe(true)
  })
})

for (const block of blocks) {
  describe(`README.md, block at line ${block.line}`, () => {
    const project = `${base}-${block.line}`
    projects.push(project)
    const state = () => join(scratch, `block-${block.line}.env`)
    afterAll(() => removeProject(project), 120_000)

    for (const [index, command] of block.commands.entries()) {
      const code = withoutComment(command)
      const skip = SKIPS.find(({ pattern }) => pattern.test(code))
      if (skip) {
        counts.skipped++
        it.skip(`${command} (skipped: ${skip.reason})`, () => {})
        continue
      }
      const server = SERVERS.find(({ pattern }) => pattern.test(code))
      const elsewhere = ELSEWHERE.some(({ pattern }) => pattern.test(code))
      it(command, async () => {
        counts.ran++
        const logFile = join(scratch, `block-${block.line}-${index}.log`)
        // The served document is docs/api/openapi.json (`bun run check` keeps them equal): read from the clone.
        const local = elsewhere
          ? command.replace(
              /http:\/\/localhost:3000\/openapi\/json/g,
              join(tree.dir, 'docs/api/openapi.json'),
            )
          : command
        const cwd = elsewhere ? mkdtempSync(join(scratch, 'elsewhere-')) : tree.dir
        const proc = start(substitute(local, pairs), state(), logFile, project, cwd)
        if (!server) {
          const exit = await proc.exited
          expect(exit, tail(logFile)).toBe(0)
          return
        }
        // A server: it must answer on the API port, then stop on Ctrl-C (SIGINT to its process group).
        let exited = false
        proc.exited.then(() => {
          exited = true
        })
        const deadline = performance.now() + 240_000
        while ((await status(server.ready)) !== 200) {
          if (exited) throw new Error(`exited before serving (code ${proc.exitCode}):\n${tail(logFile)}`)
          if (performance.now() > deadline)
            throw new Error(`not serving ${server.ready} in time:\n${tail(logFile)}`)
          await Bun.sleep(500)
        }
        process.kill(-proc.pid, 'SIGINT')
        const stopped = await Promise.race([
          proc.exited.then(() => true),
          Bun.sleep(60_000).then(() => false),
        ])
        if (!stopped) process.kill(-proc.pid, 'SIGKILL')
        expect(stopped, `still running 60 s after Ctrl-C:\n${tail(logFile)}`).toBe(true)
        expect(await status('/health/live')).toBe(0)
      })
    }
  })
}
