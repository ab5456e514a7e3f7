import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe } from 'vitest'
import { describeContract } from '../contract'
import type { ContractTarget } from '../contract/target'
import { stackTarget } from './contract-target'
import { bake, must, prodStack, run, since } from './docker'

// The contract suite against what users run: the image `docker buildx bake prod` built, in the hardened
// compose.prod.yaml stack, brought up the way the README says (one `up --wait`, which migrates first).
const stack = await prodStack('contract')
const env = { ...stack.env, RELEASE: 'contract-prod' }
let target: ContractTarget

beforeAll(async () => {
  await bake(['prod'])
  const start = performance.now()
  await must([...stack.composeArgs, 'up', '--detach', '--wait'], { env })
  target = await stackTarget({
    name: 'prod stack',
    baseUrl: stack.base,
    api: await stack.containerOf('api'),
    db: await stack.containerOf('db'),
    // compose.prod.yaml's defaults: the app's role made by deploy/db/roles.sh, the password the stack's secret file.
    database: {
      name: 'bakehouse',
      role: 'bakehouse_app',
      superuser: 'bakehouse',
      password: readFileSync(stack.passwordFile, 'utf8').trim(),
    },
    release: env.RELEASE,
  })
  console.log(`contract, prod stack: up, migrated and ready in ${since(start)} s`)
})

afterAll(async () => {
  await run([...stack.composeArgs, 'down', '--volumes', '--remove-orphans'], { env })
  stack.remove()
})

describe('contract: prod stack', () => {
  describeContract(() => target)
})
