/** Median of a non-empty list; the middle two averaged for an even count. */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error('expected at least one sample, got none')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Round-by-round ratios a/b, then their median: load drift on a shared machine hits both sides of a round alike. */
export function pairedRatio(a: number[], b: number[]): number {
  if (a.length !== b.length) throw new Error(`expected paired samples, got ${a.length} and ${b.length}`)
  return median(a.map((value, i) => value / (b[i] as number)))
}

/** Rotates the order each round so no contender always runs first (or right after the warm-up). */
export const rotate = <T>(items: T[], round: number): T[] =>
  items.map((_, i) => items[(i + round) % items.length] as T)

export const round = (value: number, digits = 2) => Number(value.toFixed(digits))

/** A table cell: the rounded figure, or "failed" where a contender produced none (NaN). */
export const cell = (value: number, digits = 2): number | string =>
  Number.isFinite(value) ? round(value, digits) : 'failed'
