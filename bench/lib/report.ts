/** A goal from issue 6 beside the figure it judges. */
export interface Goal {
  label: string
  /** "failed" when a contender it compares did not produce a figure. */
  value: number | string
  unit: string
  limit: number
  /** `most`: the figure must not exceed the limit; `least`: it must reach it. */
  bound: 'most' | 'least'
}

export interface Figure {
  id: string
  title: string
  /** How it was measured, one paragraph. */
  method: string
  columns: string[]
  rows: (string | number)[][]
  goals: Goal[]
  /** Bars for the chart: one panel per figure that has them. */
  chart?: { label: string; bars: { name: string; value: number }[] }
  /** Contenders (or the whole figure) that failed, each with the reason; the run went on without them. */
  failures?: string[]
}

export interface Results {
  profile: string
  startedAt: string
  durationSeconds: number
  revision: string
  bun: string
  node: string
  cpus: number
  loadBefore: string
  loadAfter: string
  figures: Figure[]
}

export const met = ({ value, bound, limit }: Goal) =>
  typeof value === 'number' && (bound === 'most' ? value <= limit : value >= limit)

/** The first line of an error, enough for a footnote in the report; the whole text goes to the console. */
export const firstLine = (error: unknown) =>
  String((error as Error).message ?? error).split('\n')[0] as string

/** A figure that could not be measured at all, so the report says so and the other figures still run. */
export const failedFigure = (id: string, title: string, error: unknown): Figure => ({
  id,
  title,
  method: 'Not measured: the figure failed (see below and the console output of the run).',
  columns: [],
  rows: [],
  goals: [],
  failures: [firstLine(error)],
})

/** Figures arrive rounded to what they can claim; only large non-integers are cut to one decimal. */
const fmt = (value: number | string) =>
  typeof value === 'string' || Number.isInteger(value) || Math.abs(value) < 100
    ? String(value)
    : value.toFixed(1)

const goalText = (goal: Goal) => `${goal.bound === 'most' ? '≤' : '≥'} ${goal.limit} ${goal.unit}`

function table(columns: string[], rows: (string | number)[][]): string {
  const lines = [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ]
  for (const row of rows) lines.push(`| ${row.map(fmt).join(' | ')} |`)
  return lines.join('\n')
}

/** The generated part of docs/benchmarks.md: summary of goals, the chart, then one section per figure. */
export function renderMarkdown(results: Results, chartFile: string): string {
  const goals = results.figures.flatMap((figure) => figure.goals.map((goal) => ({ figure, goal })))
  const summary = table(
    ['goal', 'figure', 'target', 'status'],
    goals.map(({ figure, goal }) => [
      `${figure.id} ${goal.label}`,
      `${fmt(goal.value)} ${goal.unit}`.trim(),
      goalText(goal),
      typeof goal.value !== 'number' ? '**failed**' : met(goal) ? 'met' : '**missed**',
    ]),
  )
  const sections = results.figures.map((figure) =>
    [
      `### ${figure.id} — ${figure.title}`,
      figure.method,
      ...(figure.rows.length > 0 ? [table(figure.columns, figure.rows)] : []),
      ...(figure.failures?.length
        ? [figure.failures.map((failure) => `- **failed:** ${failure}`).join('\n')]
        : []),
    ].join('\n\n'),
  )
  return [
    `Run of ${results.startedAt} (profile \`${results.profile}\`, ${Math.round(results.durationSeconds)} s), ` +
      `commit \`${results.revision}\`, Bun ${results.bun}, Node ${results.node}, ${results.cpus} CPUs; ` +
      `load average before ${results.loadBefore}, after ${results.loadAfter}.`,
    '### Goals',
    summary,
    `![Each figure's contenders side by side, ours first](${chartFile})`,
    ...sections,
  ].join('\n\n')
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Horizontal bar panels, one per charted figure, each bar labelled with its value; plain SVG, no fonts fetched. */
export function renderSvg(figures: Figure[]): string {
  const panels = figures.filter((figure) => figure.chart)
  const width = 760
  const labelWidth = 230
  const barHeight = 18
  const gap = 6
  let y = 16
  const parts: string[] = []
  for (const figure of panels) {
    const chart = figure.chart as NonNullable<Figure['chart']>
    parts.push(
      `<text x="8" y="${y + 14}" font-weight="bold">${escapeXml(`${figure.id} ${figure.title} — ${chart.label}`)}</text>`,
    )
    y += 24
    const max = Math.max(...chart.bars.map((bar) => bar.value))
    chart.bars.forEach((bar, i) => {
      const length = Math.max(1, ((width - labelWidth - 90) * bar.value) / max)
      const fill = i === 0 ? '#c2410c' : '#94a3b8'
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${escapeXml(bar.name)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" fill="${fill}"/>`,
        `<text x="${(labelWidth + length + 6).toFixed(1)}" y="${y + 13}">${fmt(bar.value)}</text>`,
      )
      y += barHeight + gap
    })
    y += 14
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(`Benchmarks: ${panels.map((figure) => `${figure.id} ${figure.title}`).join(', ')}`)}</title>`,
    `<rect width="${width}" height="${y}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}

/** Puts the generated text between the markers, keeping the hand-written text around it. */
export function spliceGenerated(document: string, generated: string): string {
  const start = '<!-- bench:results:start -->'
  const end = '<!-- bench:results:end -->'
  const from = document.indexOf(start)
  const to = document.indexOf(end)
  if (from < 0 || to < from) return `${document.trimEnd()}\n\n${start}\n\n${generated}\n\n${end}\n`
  return `${document.slice(0, from + start.length)}\n\n${generated}\n\n${document.slice(to)}`
}
