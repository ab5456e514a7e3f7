import { afterAll, beforeAll, describe } from 'vitest'
import { describeContract } from '../contract'
import type { ContractTarget } from '../contract/target'
import { freePort } from '../ports'
import { stackTarget } from './contract-target'
import { bake, must, projectName, run, since } from './docker'

// The contract suite against `docker compose up` (compose.yaml): the dev image serving the source with reload.
const project = projectName('contract-dev')
const port = await freePort()
const compose = ['docker', 'compose', '--project-name', project]
const env = { API_PORT: String(port) }
let target: ContractTarget

beforeAll(async () => {
  await bake(['dev'])
  const start = performance.now()
  await must([...compose, 'up', '--detach', '--wait'], { env })
  const containerOf = async (service: string) =>
    (await must([...compose, 'ps', '--quiet', service], { env })).trim()
  target = await stackTarget({
    name: 'dev stack',
    baseUrl: `http://127.0.0.1:${port}`,
    api: await containerOf('api'),
    db: await containerOf('db'),
    // The development credentials written in compose.yaml: there the app logs in as the superuser.
    database: { name: 'bakehouse', role: 'bakehouse', password: 'bakehouse', superuser: 'bakehouse' },
    release: 'unknown',
  })
  console.log(`contract, dev stack: up and ready in ${since(start)} s`)
})

afterAll(async () => {
  await run([...compose, 'down', '--volumes', '--remove-orphans'], { env })
})

describe('contract: dev stack', () => {
  describeContract(() => target)
})
