import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { must, root, run } from '../containers/docker'
import { recordFigures } from './figures'

/** Installs a Debian package when its command is missing; gitleaks is not in bookworm, so trixie is the fallback. */
async function ensureDebianPackage(command: string, pkg: string): Promise<void> {
  if ((await run(['sh', '-c', `command -v ${command}`])).code === 0) return
  await must(['apt-get', 'update', '-qq'])
  const plain = await run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', pkg])
  if (plain.code === 0) return
  // Bookworm has no gitleaks; engine-up (shared/containers) adds trixie at low priority, which is enough for one package.
  const trixie = await run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', `${pkg}/trixie`])
  if (trixie.code !== 0) {
    throw new Error(
      `expected to install ${pkg} from Debian, got:\n${plain.stderr}\n${trixie.stderr}\nAdd a trixie apt source (../shared/containers/engine-up does) and run again.`,
    )
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'bakehouse-repository-'))
const figures: Record<string, unknown> = {}

beforeAll(async () => {
  await ensureDebianPackage('shellcheck', 'shellcheck')
  await ensureDebianPackage('gitleaks', 'gitleaks')
}, 180_000)

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true })
  recordFigures('repository', figures)
})

interface Leak {
  RuleID: string
  File: string
  StartLine: number
}

/** gitleaks over a repository's whole git history; returns its findings (secrets redacted). */
async function gitleaks(dir: string): Promise<Leak[]> {
  const report = join(scratch, `gitleaks-${crypto.randomUUID()}.json`)
  const result = await run([
    'gitleaks',
    'detect',
    '--source',
    dir,
    '--no-banner',
    '--redact',
    '--report-format',
    'json',
    '--report-path',
    report,
  ])
  // 0 = clean, 1 = leaks found; anything else is gitleaks failing, which must not pass as "clean".
  expect([0, 1], result.stderr).toContain(result.code)
  return JSON.parse(await Bun.file(report).text()) as Leak[]
}

describe('repository', () => {
  it('gitleaks finds a planted secret in a scratch repository (the scanner works)', async () => {
    const dir = join(scratch, 'planted')
    await must(['git', 'init', '-q', dir])
    // Built at run time so this file does not itself hold anything that looks like a key.
    const key = `AKIA${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('')}`
    writeFileSync(join(dir, 'config.env'), `AWS_ACCESS_KEY_ID=${key}\n`)
    await must(['git', '-C', dir, 'add', '.'])
    await must([
      'git',
      '-C',
      dir,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      'commit',
      '-qm',
      'x',
    ])
    expect((await gitleaks(dir)).length).toBeGreaterThan(0)
  })

  it('gitleaks: 0 findings in the whole git history of this repository', async () => {
    const commits = Number((await must(['git', 'rev-list', '--count', 'HEAD'])).trim())
    const leaks = await gitleaks(root)
    figures.gitleaks = { commitsScanned: commits, findings: leaks.length }
    expect(leaks.map((l) => `${l.RuleID} ${l.File}:${l.StartLine}`)).toEqual([])
  })

  it('shellcheck reports a planted mistake (the checker works)', async () => {
    const script = join(scratch, 'bad.sh')
    writeFileSync(script, '#!/bin/sh\nrm -rf $1/*\n')
    expect((await run(['shellcheck', script])).code).not.toBe(0)
  })

  it('shellcheck: every tracked shell script is clean', async () => {
    const tracked = (await must(['git', 'ls-files', '-z'])).split('\0').filter(Boolean)
    const scripts: string[] = []
    for (const file of tracked) {
      if (file.endsWith('.sh')) scripts.push(file)
      else if (!file.includes('.') || file.startsWith('.ci/')) {
        const head = await Bun.file(join(root, file))
          .slice(0, 64)
          .text()
          .catch(() => '')
        if (/^#!.*\b(ba|da)?sh\b/.test(head)) scripts.push(file)
      }
    }
    expect(scripts).toContain('.ci/run')
    const result = await run(['shellcheck', '--format=gcc', ...scripts])
    const findings = result.stdout.trim().split('\n').filter(Boolean)
    figures.shellcheck = { scripts, findings: findings.length, details: findings }
    expect(findings).toEqual([])
    expect(result.code).toBe(0)
  })
})
