import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Where each test file writes its measured figures; docs/reliability.md is filled from these. */
export const figuresDir = process.env.RELIABILITY_FIGURES_DIR ?? join(tmpdir(), 'bakehouse-reliability')

/** Writes one area's figures as JSON and prints them, so a CI log carries them too. */
export function recordFigures(area: string, figures: Record<string, unknown>): void {
  mkdirSync(figuresDir, { recursive: true })
  const file = join(figuresDir, `${area}.json`)
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`)
  console.log(`figures ${area} (${file}): ${JSON.stringify(figures)}`)
}
