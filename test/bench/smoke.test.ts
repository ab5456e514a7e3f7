import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Results } from '../../bench/lib/report'
import { type Result, run, since } from '../containers/docker'

// Every figure issue 6 asks for, with the goals judged against it; the smoke checks they exist, not their values.
const EXPECTED_GOALS: Record<string, number> = { G1: 1, G2: 1, G3: 4, G4: 2, G5: 2, G6: 1, G7: 2 }
// The database route against the stacks a TypeScript developer would pick instead, each with its own manifest.
const DATABASE_PEERS = [
  'Elysia + pg',
  'Hono + Drizzle',
  'NestJS + TypeORM on Node',
  'Bun.serve + Bun.sql',
  'FastAPI + SQLAlchemy + uvicorn',
]

const out = mkdtempSync(join(tmpdir(), 'bakehouse-bench-smoke-'))
let results: Results
let harness: Result

beforeAll(async () => {
  const start = performance.now()
  // Worktree: CI's clone is the commit anyway, and a developer's run should see their edits.
  harness = await run(['bun', 'bench/run.ts', '--smoke', '--worktree', '--out', out])
  console.log(`bench smoke: ${since(start)} s`)
  const json = join(out, 'benchmarks.json')
  // A failed figure or contender still writes the report (and exits 1); no report means the run itself broke.
  if (!existsSync(json))
    throw new Error(`expected ${json}; the harness exited ${harness.code}:\n${harness.stderr}`)
  results = JSON.parse(readFileSync(json, 'utf8')) as Results
})

afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('bun bench/run.ts --smoke', () => {
  it('exits 0: no figure and no contender failed', () => {
    expect(harness.code, harness.stderr.slice(-4000)).toBe(0)
  })

  it('produces every figure G1–G7 with its goals, each a finite number', () => {
    expect(results.figures.map((figure) => figure.id)).toEqual(Object.keys(EXPECTED_GOALS))
    for (const figure of results.figures) {
      expect(figure.failures ?? [], figure.id).toEqual([])
      expect(figure.goals, figure.id).toHaveLength(EXPECTED_GOALS[figure.id] as number)
      for (const goal of figure.goals)
        expect(Number.isFinite(goal.value), `${figure.id} ${goal.label}`).toBe(true)
      expect(figure.rows.length, figure.id).toBeGreaterThanOrEqual(2)
      for (const row of figure.rows) {
        for (const cell of row.slice(1)) expect(Number.isFinite(cell), `${figure.id} ${row[0]}`).toBe(true)
      }
    }
  })

  it('measures ours against every database peer, each installed from its own lockfile and answering', () => {
    const g3 = results.figures.find((figure) => figure.id === 'G3')
    expect(g3?.rows.map((row) => row[0])).toEqual([
      'ours: Elysia + MikroORM (prod bundle)',
      ...DATABASE_PEERS,
    ])
    const g7 = results.figures.find((figure) => figure.id === 'G7')
    expect(g7?.rows).toHaveLength(DATABASE_PEERS.length + 1)
  })

  it('writes the Markdown report with every figure and the chart it links', () => {
    const markdown = readFileSync(join(out, 'benchmarks.md'), 'utf8')
    for (const id of Object.keys(EXPECTED_GOALS)) expect(markdown).toContain(`### ${id} — `)
    expect(markdown).toContain('![')
    const svg = readFileSync(join(out, 'benchmarks.svg'), 'utf8')
    expect(svg).toMatch(/^<svg [^>]*>/)
    expect(svg.match(/<rect /g)?.length).toBeGreaterThan(10)
  })

  it('records the machine load next to the figures, since they are only comparable within one run', () => {
    expect(results.loadBefore).toMatch(/^\d+\.\d+ \d+\.\d+ \d+\.\d+$/)
    expect(results.cpus).toBeGreaterThan(0)
    expect(existsSync(join(out, 'benchmarks.json'))).toBe(true)
  })
})
