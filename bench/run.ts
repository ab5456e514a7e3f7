// `bun run bench` → docs/benchmarks.md (+ .svg, .json); `bun bench/run.ts --smoke --out DIR` → a quick run into DIR.
// Measures against the commit (git archive HEAD) unless --worktree, so uncommitted edits never leak into figures.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { copyWorkTree, must, root, run } from '../test/containers/docker'
import { buildProd, measureBuilds } from './lib/figures/build'
import { measureDevLoop } from './lib/figures/dev-loop'
import { measureImages } from './lib/figures/image'
import { measureLoad } from './lib/figures/load'
import { measureStartup } from './lib/figures/startup'
import { realNode } from './lib/procs'
import { profiles } from './lib/profile'
import {
  type Figure,
  failedFigure,
  type Results,
  renderMarkdown,
  renderSvg,
  spliceGenerated,
} from './lib/report'
import { extractBundle, images, startDatabase } from './lib/stack'

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    worktree: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
})
const profile = profiles[values.smoke ? 'smoke' : 'full']
const outDir = values.out ?? join(root, 'docs')
const only = values.only?.split(',')
const wanted = (id: string) => !only || only.includes(id)

const step = (text: string) => console.log(`\n==> ${text}`)
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')

/** A clean copy of the tree to build and edit: HEAD by default, the work tree with --worktree. */
async function copyTree(): Promise<{ dir: string; remove(): void }> {
  if (values.worktree) return copyWorkTree()
  const dir = mkdtempSync(join(tmpdir(), 'bakehouse-bench-tree-'))
  await must(['bash', '-c', `git archive HEAD | tar -x -C "${dir}"`])
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

for (const tool of ['wrk', 'docker']) {
  if (!Bun.which(tool))
    throw new Error(
      `expected \`${tool}\` on PATH; on Debian: apt-get install -y wrk (docker: ../shared/containers/engine-up)`,
    )
}

const figures: Figure[] = []

/**
 * Measures one family of figures; if it throws, each of them is reported as failed and the run goes on.
 * Only the shared stages (the images, the database) abort a run, since the figures cannot do without them.
 */
async function attempt(ids: Record<string, string>, measure: () => Promise<Figure[]>): Promise<void> {
  try {
    figures.push(...(await measure()).filter((figure) => wanted(figure.id)))
  } catch (error) {
    console.error(`${Object.keys(ids).join(', ')} failed; the run goes on without them:\n${error}`)
    for (const [id, title] of Object.entries(ids))
      if (wanted(id)) figures.push(failedFigure(id, title, error))
  }
}

const started = performance.now()
const startedAt = new Date().toISOString()
const loadBefore = load()
await realNode()
const tree = await copyTree()
const cleanups: (() => Promise<unknown> | unknown)[] = [() => tree.remove()]
try {
  step(`profile ${profile.name}, tree ${tree.dir}, load ${loadBefore}`)
  step('G5 build (also builds the prod and naive images)')
  if (wanted('G5')) await attempt({ G5: 'build' }, async () => [await measureBuilds(tree.dir, profile)])
  if (!figures.some((figure) => figure.id === 'G5' && !figure.failures?.length)) {
    step('prod image (untimed)')
    await buildProd(tree.dir)
  }
  step('peer images (untimed)')
  // A *.Dockerfile name, so `seed-images --scan .` finds its base image like the others'.
  const fastapi = join(root, 'bench/peers/fastapi')
  await must([
    'docker',
    'build',
    '--quiet',
    '-t',
    images.fastapi,
    '-f',
    join(fastapi, 'fastapi.Dockerfile'),
    fastapi,
  ])
  await must([
    'docker',
    'build',
    '--quiet',
    '-t',
    images.twin,
    '-f',
    join(root, 'bench/peers/twin.Dockerfile'),
    join(root, 'bench/peers'),
  ])
  if (wanted('G1')) {
    step('G1 image size')
    await attempt({ G1: 'image size' }, async () => [await measureImages()])
  }
  const bundleDir = await extractBundle(images.prod)
  cleanups.push(() => rmSync(bundleDir, { recursive: true, force: true }))
  step('database: Postgres 17, migrated and seeded')
  const db = await startDatabase(bundleDir, 1000)
  cleanups.push(() => db.stop())
  if (wanted('G4')) {
    step('G4 startup')
    await attempt({ G4: 'startup' }, async () => [await measureStartup(bundleDir, db, profile)])
  }
  if (wanted('G2') || wanted('G3') || wanted('G7')) {
    step('G3 database, G7 memory, G2 HTTP')
    await attempt(
      { G2: 'HTTP: GET /health/live', G3: 'database: GET /notes/:id', G7: 'memory (RSS)' },
      async () => Object.values(await measureLoad(bundleDir, db, profile)),
    )
  }
  await db.stop()
  if (wanted('G6')) {
    step('G6 dev loop')
    await attempt({ G6: 'dev loop' }, async () => [await measureDevLoop(tree.dir, profile)])
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup()
}
figures.sort((a, b) => a.id.localeCompare(b.id))

const results: Results = {
  profile: profile.name,
  startedAt,
  durationSeconds: (performance.now() - started) / 1000,
  revision: (await run(['git', 'rev-parse', '--short', 'HEAD'])).stdout.trim(),
  bun: Bun.version,
  node: (await must([await realNode(), '--version'])).trim(),
  cpus: cpus().length,
  loadBefore,
  loadAfter: load(),
  figures,
}

mkdirSync(outDir, { recursive: true })
const markdownFile = join(outDir, 'benchmarks.md')
const previous = existsSync(markdownFile) ? readFileSync(markdownFile, 'utf8') : '# Benchmarks\n'
writeFileSync(join(outDir, 'benchmarks.json'), `${JSON.stringify(results, null, 2)}\n`)
writeFileSync(join(outDir, 'benchmarks.svg'), renderSvg(figures))
writeFileSync(markdownFile, spliceGenerated(previous, renderMarkdown(results, 'benchmarks.svg')))
// Keeps `bun run check` clean: Biome formats Markdown and JSON too.
await run([
  join(root, 'node_modules/.bin/biome'),
  'format',
  '--write',
  markdownFile,
  join(outDir, 'benchmarks.json'),
])
step(`wrote ${markdownFile} in ${Math.round(results.durationSeconds)} s`)
for (const figure of figures) {
  for (const goal of figure.goals)
    console.log(`${figure.id} ${goal.label}: ${goal.value} ${goal.unit} (goal ${goal.bound} ${goal.limit})`)
}
const failures = figures.flatMap((figure) =>
  (figure.failures ?? []).map((failure) => `${figure.id} ${failure}`),
)
if (failures.length > 0) {
  console.error(
    `\n${failures.length} failed (the report says so where they would be):\n${failures.join('\n')}`,
  )
  process.exitCode = 1
}
