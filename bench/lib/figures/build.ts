import { join } from 'node:path'
import { must, root } from '../../../test/containers/docker'
import type { Profile } from '../profile'
import type { Figure } from '../report'
import { bakeVars, editLiveRoute, images } from '../stack'
import { median, pairedRatio, round } from '../stats'

const seconds = async (action: () => Promise<unknown>) => {
  const start = performance.now()
  await action()
  return (performance.now() - start) / 1000
}

const bakeProd = (dir: string, extra: string[] = []) =>
  must(['docker', 'buildx', 'bake', '--load', '--sbom=false', '--provenance=false', ...extra, 'prod'], {
    cwd: dir,
    env: bakeVars,
  })
const buildNaive = (dir: string, extra: string[] = []) =>
  must(
    [
      'docker',
      'build',
      '--quiet',
      ...extra,
      '-f',
      join(root, 'bench/naive.Dockerfile'),
      '-t',
      images.naive,
      '.',
    ],
    {
      cwd: dir,
    },
  )

/** Builds the prod image untimed, for runs that skip G5 (--only). */
export const buildProd = (dir: string) => bakeProd(dir)

/** G5: cold (--no-cache), warm after a one-line edit, and no-op builds of prod, each beside the naive Dockerfile. */
export async function measureBuilds(dir: string, profile: Profile): Promise<Figure> {
  const kinds = ['cold', 'warm', 'noop'] as const
  const ours: Record<(typeof kinds)[number], number[]> = { cold: [], warm: [], noop: [] }
  const naive: Record<(typeof kinds)[number], number[]> = { cold: [], warm: [], noop: [] }
  for (let r = 0; r < profile.buildRounds; r++) {
    ours.cold.push(await seconds(() => bakeProd(dir, ['--no-cache'])))
    naive.cold.push(await seconds(() => buildNaive(dir, ['--no-cache'])))
    const restore = editLiveRoute(dir, `bench-build-${r}`)
    try {
      ours.warm.push(await seconds(() => bakeProd(dir)))
      naive.warm.push(await seconds(() => buildNaive(dir)))
    } finally {
      restore()
    }
    // The restore is itself an edit; build once untimed so the no-op really has nothing to do.
    await bakeProd(dir)
    await buildNaive(dir)
    ours.noop.push(await seconds(() => bakeProd(dir)))
    naive.noop.push(await seconds(() => buildNaive(dir)))
  }
  const m = (list: number[]) => round(median(list), 2)
  return {
    id: 'G5',
    title: 'build',
    method:
      `\`docker buildx bake prod\` on the default builder in a copy of the commit, median of ${profile.buildRounds} ` +
      'interleaved rounds; beside it `docker build` of `bench/naive.Dockerfile` (`oven/bun` + `COPY . .` + ' +
      '`bun install`) on the same context. Cold is `--no-cache` (base images local; our Dockerfile keeps its ' +
      'package cache mount, the naive one has none and downloads every package); warm follows a one-line edit ' +
      'of `src/modules/health/index.ts`; no-op rebuilds an unchanged tree.',
    columns: ['build', 'ours (s)', 'naive (s)', 'ours / naive'],
    rows: kinds.map((kind) => [
      kind,
      m(ours[kind]),
      m(naive[kind]),
      round(pairedRatio(ours[kind], naive[kind]), 2),
    ]),
    goals: [
      { label: 'warm build', value: m(ours.warm), unit: 's', limit: 10, bound: 'most' },
      { label: 'no-op build', value: m(ours.noop), unit: 's', limit: 3, bound: 'most' },
    ],
    chart: {
      label: 'warm build, s',
      bars: [
        { name: 'ours (bake prod)', value: m(ours.warm) },
        { name: 'naive Dockerfile', value: m(naive.warm) },
      ],
    },
  }
}
