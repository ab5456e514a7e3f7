import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { gunzipSync } from 'bun'
import { DockerfileParser, type Instruction, type JSONInstruction } from 'dockerfile-ast'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bakeEnv,
  bunInImage,
  bunVersion,
  copyWorkTree,
  inspect,
  must,
  root,
  run,
  since,
} from '../containers/docker'
import { recordFigures } from './figures'

// The image policy: Dockerfile rules read with a parser, then the image built from a tree holding a planted secret.
const dockerfile = DockerfileParser.parse(readFileSync(join(root, 'Dockerfile'), 'utf8'))
const instructions = dockerfile.getInstructions()
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>
}

interface Stage {
  name: string
  from: Instruction
  body: Instruction[]
}
const stages: Stage[] = []
for (const instruction of instructions) {
  if (instruction.getKeyword() === 'FROM') {
    const name = instruction.getArguments()[2]?.getValue() ?? String(stages.length)
    stages.push({ name, from: instruction, body: [] })
  } else stages.at(-1)?.body.push(instruction)
}
const prod = stages.at(-1) as Stage
const inProd = (keyword: string) => prod.body.filter((i) => i.getKeyword() === keyword)
const everywhere = (keyword: string) => instructions.filter((i) => i.getKeyword() === keyword)
const at = (i: Instruction) => `line ${i.getRange().start.line + 1}: ${i.toString().slice(0, 120)}`

/** Names that say "secret"; a value on such an ARG or ENV ends up in the image metadata for anyone to read. */
const SECRET_NAME = /pass(word)?|secret|token|api_?key|private|credential|auth/i
/** Values shaped like credentials: cloud keys, tokens, URLs with a password. */
const SECRET_VALUE =
  /AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abp]-|-----BEGIN|:\/\/[^/\s:@]+:[^/\s@]+@/

const results: { check: string; violations: string[] }[] = []
/** One policy check: records its violations for the figures and fails the test when there are any. */
function policy(check: string, violations: () => string[] | Promise<string[]>) {
  it(check, async () => {
    const found = await violations()
    results.push({ check, violations: found })
    expect(found).toEqual([])
  })
}

describe('Dockerfile rules (parsed with dockerfile-ast)', () => {
  it('parses into the named stages base → deps → dev → build → check → edge → prod, prod last', () => {
    expect(stages.map((s) => s.name)).toEqual(['base', 'deps', 'dev', 'build', 'check', 'edge', 'prod'])
  })

  policy('prod sets USER', () => (inProd('USER').length > 0 ? [] : ['no USER in the prod stage']))

  policy('prod USER is a numeric non-root uid:gid', () =>
    inProd('USER')
      .filter((i) => !/^[1-9]\d*(:[1-9]\d*)?$/.test(i.getArgumentsContent() ?? ''))
      .map(at),
  )

  policy('prod sets a HEALTHCHECK', () =>
    inProd('HEALTHCHECK').some((i) => i.getArguments().some((a) => a.getValue() === 'CMD'))
      ? []
      : ['no HEALTHCHECK CMD in the prod stage'],
  )

  policy('HEALTHCHECK runs in exec form with a timeout', () =>
    inProd('HEALTHCHECK')
      .filter(
        (i) =>
          !/^(--\S+\s+)*CMD\s+\[/.test(i.getArgumentsContent()?.replace(/\\\n/g, ' ') ?? '') ||
          !/--timeout=/.test(i.toString()),
      )
      .map(at),
  )

  policy('every CMD and ENTRYPOINT is in exec (JSON) form', () =>
    [...everywhere('CMD'), ...everywhere('ENTRYPOINT')]
      .filter((i) => (i as JSONInstruction).getJSONStrings().length === 0)
      .map(at),
  )

  policy('prod has an ENTRYPOINT or CMD', () =>
    inProd('ENTRYPOINT').length + inProd('CMD').length > 0 ? [] : ['prod stage has no command'],
  )

  policy('no ADD of a URL (and no ADD at all: COPY is explicit)', () => everywhere('ADD').map(at))

  policy('no secret-named ARG or ENV', () =>
    [...everywhere('ARG'), ...everywhere('ENV')]
      .filter((i) => {
        const names =
          i.getKeyword() === 'ARG' ? [i.getArguments()[0]?.getValue().split('=')[0] ?? ''] : envNames(i)
        return names.some((name) => SECRET_NAME.test(name))
      })
      .map(at),
  )

  policy('no credential-shaped value in ARG, ENV or LABEL', () =>
    [...everywhere('ARG'), ...everywhere('ENV'), ...everywhere('LABEL')]
      .filter((i) => SECRET_VALUE.test(i.toString()))
      .map(at),
  )

  policy('every base image has an explicit tag, never latest', () =>
    stages
      .map((s) => s.from)
      .filter((from) => {
        const image = from.getArguments()[0]?.getValue() ?? ''
        if (stages.some((s) => s.name === image)) return false
        const tag = image.includes(':') ? image.split(':').at(-1) : undefined
        return !tag || /latest/.test(tag)
      })
      .map(at),
  )

  // Debian's releases have two parts (13.8): its point release is its full version.
  policy(
    'base image tags resolve to a full version (X.Y.Z; X.Y for Debian), Bun pinned to package.json',
    () => {
      const violations: string[] = []
      const arg = dockerfile.getInitialARGs().find((a) => a.getProperty()?.getName() === 'BUN_VERSION')
      const pinned = arg?.getProperty()?.getValue()
      if (pinned !== bunVersion)
        violations.push(`ARG BUN_VERSION=${pinned}, expected ${bunVersion} from packageManager`)
      for (const { from } of stages) {
        const image = (from.getArguments()[0]?.getValue() ?? '').replace(/\$\{BUN_VERSION\}/, pinned ?? '')
        if (stages.some((s) => s.name === image)) continue
        if (!/:\d+\.\d+\.\d+(-[\w.]+)?$/.test(image) && !/^debian:\d+\.\d+(-slim)?$/.test(image))
          violations.push(`${at(from)} resolves to ${image}`)
      }
      return violations
    },
  )

  policy('COPY --from names an earlier stage', () =>
    stages.flatMap((stage, index) =>
      stage.body
        .filter((i) => i.getKeyword() === 'COPY')
        .flatMap((i) => i.getArguments().map((a) => a.getValue()))
        .filter((arg) => arg.startsWith('--from='))
        .map((arg) => arg.slice('--from='.length))
        .filter((name) => !stages.slice(0, index).some((s) => s.name === name))
        .map((name) => `stage ${stage.name}: COPY --from=${name} is not an earlier stage`),
    ),
  )

  policy('no curl|sh installs, sudo or apt-get upgrade in RUN', () =>
    everywhere('RUN')
      .filter((i) => /(curl|wget)[^|]*\|\s*(ba)?sh|\bsudo\b|apt-get\s+(dist-)?upgrade/.test(i.toString()))
      .map(at),
  )

  policy('every WORKDIR is absolute', () =>
    everywhere('WORKDIR')
      .filter((i) => !(i.getArgumentsContent() ?? '').startsWith('/'))
      .map(at),
  )
})

function envNames(i: Instruction): string[] {
  return i
    .getArguments()
    .map((a) => a.getValue().split('=')[0] ?? '')
    .filter(Boolean)
}

// Built image: from a copy of the work tree holding a canary secret in the files a developer keeps locally.
const canary = `CANARY_${crypto.randomUUID().replaceAll('-', '')}`
const image = `bakehouse-reliability-canary:${process.pid}`
const planted = [
  '.env',
  '.env.local',
  '.env.production',
  '.data/secret.txt',
  'dist/secret.js',
  'node_modules/.secret',
  '.git/config',
  'debug.log',
  'coverage/secret.txt',
]
let tree: { dir: string; remove(): void }
const scratch = mkdtempSync(join(tmpdir(), 'bakehouse-image-policy-'))

/** Every file under `dir`, as paths relative to it. */
function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((path) =>
    lstatSync(join(dir, path)).isFile(),
  )
}

beforeAll(async () => {
  tree = await copyWorkTree()
  for (const path of planted) {
    mkdirSync(dirname(join(tree.dir, path)), { recursive: true })
    writeFileSync(join(tree.dir, path), `DATABASE_PASSWORD=${canary}\n`)
  }
  const start = performance.now()
  await must(['docker', 'buildx', 'bake', '--load', 'prod'], {
    cwd: tree.dir,
    env: {
      ...bakeEnv,
      IMAGE: 'bakehouse-reliability-canary',
      GIT_SHA: String(process.pid),
      TAG: String(process.pid),
    },
  })
  console.log(`bake prod from a tree with a canary .env: ${since(start)} s`)
})

afterAll(async () => {
  await run(['docker', 'rmi', '--force', image])
  tree?.remove()
  rmSync(scratch, { recursive: true, force: true })
})

describe('built image', () => {
  policy('runs as a non-root uid (config and a real process)', async () => {
    const { Config } = await inspect('image', image)
    const violations = /^[1-9]\d*(:\d+)?$/.test(Config.User)
      ? []
      : [`Config.User is ${JSON.stringify(Config.User)}`]
    const uid = await bunInImage(image, 'console.log(process.getuid())')
    if (uid === '0' || !/^\d+$/.test(uid)) violations.push(`the process runs as uid ${uid}`)
    return violations
  })

  policy('carries a HEALTHCHECK in its config', async () => {
    const { Config } = await inspect('image', image)
    return Config.Healthcheck?.Test?.[0] === 'CMD'
      ? []
      : [`Healthcheck is ${JSON.stringify(Config.Healthcheck)}`]
  })

  policy('.dockerignore keeps local secrets and state out of the build context', async () => {
    // Exports the context exactly as the builder receives it, filtered by the tree's .dockerignore.
    const probe = join(scratch, 'context.Dockerfile')
    writeFileSync(probe, 'FROM scratch\nCOPY . /\n')
    const out = join(scratch, 'context')
    await must([
      'docker',
      'buildx',
      'build',
      '--quiet',
      '--file',
      probe,
      '--output',
      `type=local,dest=${out}`,
      tree.dir,
    ])
    const files = walk(out)
    expect(files).toContain('src/index.ts')
    const violations = planted
      .filter((path) => existsSync(join(out, path)))
      .map((path) => `${path} is in the build context`)
    for (const file of files) {
      if (readFileSync(join(out, file)).includes(canary))
        violations.push(`${file} in the build context holds the canary`)
    }
    return violations
  })

  policy('the canary secret is nowhere in the image config or history', async () => {
    const config = await must(['docker', 'image', 'inspect', image])
    const history = await must(['docker', 'history', '--no-trunc', '--format', '{{json .}}', image])
    // Positive control: the history is readable and holds the prod stage's steps.
    expect(history).toContain('HEALTHCHECK')
    return [
      ...(config.includes(canary) ? ['image config'] : []),
      ...(history.includes(canary) ? ['image history'] : []),
    ]
  })

  policy('the canary secret is in no layer', async () => {
    const saved = join(scratch, 'saved')
    mkdirSync(saved)
    await must(['sh', '-c', `docker save "${image}" | tar -x -C "${saved}"`])
    let layersRead = 0
    let bundleSeen = false
    const violations: string[] = []
    for (const file of walk(saved)) {
      let bytes: Uint8Array = readFileSync(join(saved, file))
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes as Uint8Array<ArrayBuffer>)
      const buffer = Buffer.from(bytes)
      layersRead++
      // Positive control: the bundle's own text is found, so a miss for the canary means something.
      if (buffer.includes('schema already up to date')) bundleSeen = true
      if (buffer.includes(canary)) violations.push(`${relative(saved, join(saved, file))} holds the canary`)
    }
    expect(layersRead).toBeGreaterThan(1)
    expect(bundleSeen).toBe(true)
    return violations
  })

  policy('holds no dev dependency: no node_modules, no dev-only package in the bundle', async () => {
    const id = (await must(['docker', 'create', image])).trim()
    const out = join(scratch, 'fs')
    mkdirSync(out)
    try {
      await must([
        'sh',
        '-c',
        `docker export "${id}" | tar -x -C "${out}" --exclude='dev/*' --exclude='proc/*' --exclude='sys/*'`,
      ])
    } finally {
      await must(['docker', 'rm', id])
    }
    const files = walk(out)
    const violations = files
      .filter((f) => /(^|\/)node_modules\//.test(f))
      .map((f) => `${f} is a node_modules file`)
    const bundle = files
      .filter((f) => f.startsWith('app/'))
      .map((f) => readFileSync(join(out, f), 'utf8'))
      .join('\n')
    // Positive control: a runtime dependency is found by name.
    expect(bundle).toContain('mikro-orm')
    // Names long enough not to occur by chance in minified code.
    const devOnly = Object.keys(pkg.devDependencies).filter(
      (name) => name.length >= 6 && name !== 'typescript',
    )
    for (const name of devOnly) if (bundle.includes(name)) violations.push(`the bundle mentions ${name}`)
    return violations
  })
})

describe('image policy totals', () => {
  it('ran at least 15 checks with 0 violations', () => {
    const violations = results.reduce((sum, r) => sum + r.violations.length, 0)
    recordFigures('image-policy', {
      checks: results.length,
      violations,
      failed: results.filter((r) => r.violations.length > 0),
      names: results.map((r) => r.check),
    })
    expect(results.length).toBeGreaterThanOrEqual(15)
    expect(violations).toBe(0)
  })
})
