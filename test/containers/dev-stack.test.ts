import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../ports'
import {
  bake,
  copyWorkTree,
  eventually,
  exerciseNotes,
  leftovers,
  must,
  projectName,
  run,
  since,
} from './docker'

const project = projectName('dev')
const tree = await copyWorkTree()
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const compose = (...args: string[]) =>
  must(['docker', 'compose', '--project-name', project, ...args], {
    cwd: tree.dir,
    env: { API_PORT: String(port) },
  })
const down = () => compose('down', '--volumes', '--remove-orphans', '--timeout', '5')

beforeAll(async () => {
  await bake(['dev'])
  const start = performance.now()
  await compose('up', '--detach', '--wait')
  console.log(`dev stack: compose up --wait ${since(start)} s`)
})

afterAll(async () => {
  await run(['docker', 'compose', '--project-name', project, 'down', '--volumes', '--remove-orphans'], {
    cwd: tree.dir,
  })
  tree.remove()
})

describe('dev stack (compose.yaml)', () => {
  it('publishes the api on loopback only and never the database', async () => {
    const services = (await compose('ps', '--format', 'json'))
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as { Service: string; Publishers: { URL: string; PublishedPort: number }[] },
      )
    const published = Object.fromEntries(
      services.map(({ Service, Publishers }) => [
        Service,
        Publishers.filter((p) => p.PublishedPort > 0).map((p) => `${p.URL}:${p.PublishedPort}`),
      ]),
    )
    expect(published).toEqual({ api: [`127.0.0.1:${port}`], db: [] })
  })

  it('has migrated the database on start, so /health/ready answers 200', async () => {
    const ready = await fetch(`${base}/health/ready`)
    expect(ready.status).toBe(200)
  })

  it('serves notes CRUD on http://127.0.0.1', async () => {
    await exerciseNotes(base)
  })

  it('serves an edit under src/ without a rebuild', async () => {
    const file = join(tree.dir, 'src/modules/health/index.ts')
    const source = readFileSync(file, 'utf8')
    // Liveness reports uptime; a constant no fresh process could have proves the edited code is the one answering.
    const edited = source.replace(/uptimeSeconds: [^,}\n]+/, 'uptimeSeconds: 424242')
    expect(edited, 'expected src/modules/health/index.ts to set `uptimeSeconds:`; update this test').not.toBe(
      source,
    )
    const start = performance.now()
    writeFileSync(file, edited)
    const live = await eventually(async () => {
      const body = (await (await fetch(`${base}/health/live`)).json()) as { uptimeSeconds: number }
      if (body.uptimeSeconds !== 424242)
        throw new Error(`expected the edited uptime, got ${body.uptimeSeconds}`)
      return body
    }, 60)
    console.log(`dev stack: edit served after ${since(start)} s`)
    expect(live).toMatchObject({ status: 'ok', uptimeSeconds: 424242 })
  })

  it('is gone after compose down: no containers, networks or volumes left', async () => {
    await down()
    expect(await leftovers(project)).toEqual([])
  })
})
