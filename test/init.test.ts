import { describe, expect, it } from 'vitest'
import { planInit } from '../scripts/lib/init-plan.mjs'
import { MAX_LENGTH, nameProblems, renameText, spellings } from '../scripts/lib/names.mjs'

// The rules of `bun run init` on made-up trees; test/containers/init.test.ts runs it on a copy of this one.
const rename = (text: string, from: string, to: string) => renameText(text, from, to).text

describe('project names', () => {
  it('accepts a DNS label that is also an npm name and refuses the rest, saying why', () => {
    expect(nameProblems('corn-mill')).toEqual([])
    expect(nameProblems('a'.repeat(MAX_LENGTH))).toEqual([])
    expect(nameProblems('a'.repeat(MAX_LENGTH + 1)).join()).toMatch(/41 characters; at most 40/)
    expect(nameProblems('9lives').join()).toMatch(/does not start with a letter/)
    expect(nameProblems('corn-').join()).toMatch(/ends with -/)
    expect(nameProblems('corn--mill').join()).toMatch(/has --/)
    expect(nameProblems('corn.mill').join()).toMatch(/contains "\."/)
    expect(nameProblems('').join()).toMatch(/empty/)
  })

  it('spells a name the ways code needs it', () => {
    expect(spellings('corn-mill')).toEqual({
      kebab: 'corn-mill',
      snake: 'corn_mill',
      upper: 'CORN_MILL',
      pascal: 'CornMill',
      camel: 'cornMill',
    })
  })

  it('renames a one-word name in the spelling its neighbours call for', () => {
    expect(rename('image: qqold:dev, /srv/qqold, qqold-prod', 'qqold', 'corn-mill')).toBe(
      'image: corn-mill:dev, /srv/corn-mill, corn-mill-prod',
    )
    expect(rename('qqold_test_1 QQOLD_URL QqoldConfig createQqold qqoldUrl', 'qqold', 'corn-mill')).toBe(
      'corn_mill_test_1 CORN_MILL_URL CornMillConfig createCornMill cornMillUrl',
    )
  })

  it('renames each spelling of a two-word name to the same spelling, and leaves other words alone', () => {
    expect(rename('corn-mill corn_mill_test CornMill cornMill CORN_MILL', 'corn-mill', 'qqold')).toBe(
      'qqold qqold_test Qqold qqold QQOLD',
    )
    expect(rename('qqolds xqqold qqold2 Qqolder', 'qqold', 'corn-mill')).toBe('qqolds xqqold qqold2 Qqolder')
  })
})

const manifest = (extra = {}) =>
  `${JSON.stringify({ name: 'qqold', version: '2.3.0', ...extra, scripts: { x: 'qqold' } }, null, 2)}\n`

const templateTree = () =>
  new Map<string, string | Buffer>([
    ['package.json', manifest({ template: { remove: ['docs/figures.json'] } })],
    [
      'README.md',
      '# qqold\n\n<!-- template:start -->\nThe qqold template. Try corn-mill.\n<!-- template:end -->\n' +
        '<!-- template:init\nStarted from the qqold template.\n-->\n\nRun qqold.\n',
    ],
    ['docs/figures.json', '{}\n'],
    ['src/qqold-client.ts', "export const name = 'qqold'\n"],
    [
      'bun.lock',
      '{\n  "workspaces": {\n    "": {\n      "name": "qqold",\n    },\n  },\n' +
        '  "packages": {\n    "qqold-utils": ["qqold-utils@1.0.0", "", {}, "sha512-x"],\n  }\n}\n',
    ],
    ['peer/package-lock.json', '{ "name": "qqold-peer" }\n'],
    ['logo.png', Buffer.from('\0PNG qqold')],
  ])

describe('planInit', () => {
  const plan = planInit({ files: templateTree(), from: 'qqold', to: 'corn-mill' })

  it('resolves template parts: drops the blocks, uncovers init comments verbatim and lists them as kept', () => {
    expect(plan.outputs.get('README.md')).toBe(
      '# corn-mill\n\nStarted from the qqold template.\n\nRun corn-mill.\n',
    )
    expect(plan.kept).toEqual([{ file: 'README.md', line: 3, text: 'Started from the qqold template.' }])
  })

  it("renames contents and paths, resets the version, and removes the template's own files and settings", () => {
    expect(JSON.parse(plan.outputs.get('package.json') as string)).toEqual({
      name: 'corn-mill',
      version: '0.1.0',
      scripts: { x: 'corn-mill' },
    })
    expect(plan.outputs.get('src/corn-mill-client.ts')).toBe("export const name = 'corn-mill'\n")
    expect(plan.outputs.has('src/qqold-client.ts')).toBe(false)
    expect(plan.removes).toEqual(['docs/figures.json'])
    expect(plan.outputs.has('docs/figures.json')).toBe(false)
  })

  it("renames bun.lock's workspace name only, and no lockfile of another tool; what it leaves is listed", () => {
    expect(plan.outputs.get('bun.lock')).toContain('"name": "corn-mill"')
    expect(plan.outputs.get('bun.lock')).toContain('"qqold-utils": ["qqold-utils@1.0.0"')
    expect(plan.outputs.get('peer/package-lock.json')).toBe('{ "name": "qqold-peer" }\n')
    expect(
      plan.left.map(({ file, reason }: { file: string; reason: string }) => `${file}: ${reason}`).sort(),
    ).toEqual([
      'bun.lock: a registry package, not this project',
      'logo.png: a binary file; change it with its own tool',
      'peer/package-lock.json: a lockfile of another tool: regenerate it with that tool',
    ])
  })

  it('changes nothing when run again on its own result', () => {
    const again = planInit({ files: plan.outputs, from: 'corn-mill', to: 'corn-mill' })
    expect(again.changes).toEqual([])
    expect(again.removes).toEqual([])
  })

  it("keeps the template's name when asked to, still leaving the template, and reports no leftover", () => {
    const same = planInit({ files: templateTree(), from: 'qqold', to: 'qqold' })
    expect(same.outputs.get('README.md')).toBe('# qqold\n\nStarted from the qqold template.\n\nRun qqold.\n')
    expect(JSON.parse(same.outputs.get('package.json') as string)).toMatchObject({
      name: 'qqold',
      version: '0.1.0',
    })
    expect([same.kept, same.left]).toEqual([[], []])
  })

  it('refuses a name the project already uses, except inside template blocks or the old name itself', () => {
    const files = templateTree()
    files.set('src/mill.ts', 'export const mill = 1\n')
    expect(() => planInit({ files, from: 'qqold', to: 'mill' })).toThrow(/mill already appears/)
    expect(() => planInit({ files: templateTree(), from: 'qqold', to: 'corn-mill' })).not.toThrow()
    const renamed = new Map(plan.outputs)
    expect(() => planInit({ files: renamed, from: 'corn-mill', to: 'mill' })).not.toThrow()
  })

  it('stops on a marker that is never closed, naming the file and line', () => {
    const files = templateTree()
    files.set('docs/a.md', 'x\n<!-- template:start -->\ny\n')
    expect(() => planInit({ files, from: 'qqold', to: 'corn-mill' })).toThrow(
      'docs/a.md:2: <!-- template:start --> is never closed',
    )
  })
})
