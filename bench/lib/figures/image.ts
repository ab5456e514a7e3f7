import { bunInImage, inspect } from '../../../test/containers/docker'
import type { Figure } from '../report'
import { images } from '../stack'
import { round } from '../stats'

const MB = 1e6

/** G1: image sizes against the Bun executable that every Bun image must carry. */
export async function measureImages(): Promise<Figure> {
  const size = async (image: string) => (await inspect('image', image)).Size / MB
  const bunBytes = Number(await bunInImage(images.prod, "console.log(Bun.file('/usr/local/bin/bun').size)"))
  const floor = bunBytes / MB
  const rows: [string, number][] = [
    ['bun executable (floor)', floor],
    ['ours: prod (bundle on distroless)', await size(images.prod)],
    ['naive Dockerfile', await size(images.naive)],
    ['FastAPI + SQLAlchemy + uvicorn', await size(images.fastapi)],
  ]
  const ours = rows[1]?.[1] as number
  return {
    id: 'G1',
    title: 'image size',
    method:
      '`docker image inspect` size (MB = 10^6 bytes, as `docker images` shows), against the size of ' +
      "`/usr/local/bin/bun` in the prod image. The FastAPI image is `debian:bookworm-slim` with Debian's " +
      'python3-fastapi, -uvicorn (+ uvloop, httptools), -sqlalchemy and -psycopg2, standing in for pip on ' +
      '`python:3-slim`. All bases are the local base images, whose sizes differ a little from upstream.',
    columns: ['image', 'MB', '× bun executable'],
    rows: rows.map(([name, mb]) => [name, round(mb, 1), round(mb / floor, 2)]),
    goals: [{ label: 'prod image', value: round(ours, 1), unit: 'MB', limit: 125, bound: 'most' }],
    chart: {
      label: 'MB',
      bars: [...rows.slice(1), rows[0] as [string, number]].map(([name, mb]) => ({
        name,
        value: round(mb, 1),
      })),
    },
  }
}
