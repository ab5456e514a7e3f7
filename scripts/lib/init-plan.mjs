// What `bun run init` changes, worked out in memory from the files' contents: no I/O here, so it can be shown
// (--dry-run), checked before anything is written, and tested. docs/decisions/0040-init.md says why.
import { posix } from 'node:path'
import { mentionTest, namePattern, renameText } from './names.mjs'

/** Markers, each alone on its line: a start…end block is the template's own, an init comment is uncovered by init. */
const START = '<!-- template:start -->'
const END = '<!-- template:end -->'
const INIT = '<!-- template:init'
const INIT_END = '-->'

/** Lockfiles of other tools: their package entries are registry names, so only their own tool may rewrite them. */
const FOREIGN_LOCKFILES = new Set([
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'deno.lock',
  'uv.lock',
  'poetry.lock',
  'Pipfile.lock',
  'Cargo.lock',
  'Gemfile.lock',
  'composer.lock',
  'go.sum',
])

/** In bun.lock the project's name can only be a workspace's own `name`, which must follow its package.json. */
const BUN_LOCK_NAME = /^\s*"name": "/

/**
 * Splits a file into kept lines (renamed later), template-only lines (dropped) and init lines (uncovered, verbatim).
 * Throws, naming the file and line, on an unclosed or stray marker: a half-removed block would be worse.
 */
export function templateParts(file, text) {
  const lines = text.split('\n')
  const out = []
  let open = null
  lines.forEach((line, index) => {
    const marker = line.trim()
    const where = `${file}:${index + 1}`
    if (open === null) {
      if (marker === START || marker === INIT) open = { kind: marker === START ? 'drop' : 'init', where }
      else if (marker === END) throw new Error(`${where}: ${END} without ${START} before it`)
      else out.push({ kind: 'keep', line })
    } else if (open.kind === 'drop') {
      if (marker === END) open = null
      else if (marker === START || marker === INIT)
        throw new Error(`${where}: marker inside the block of ${open.where}`)
    } else if (marker === INIT_END) open = null
    else out.push({ kind: 'init', line })
  })
  if (open) throw new Error(`${open.where}: ${open.kind === 'drop' ? START : INIT} is never closed`)
  return out
}

const blocksIn = (text) => text.split('\n').filter((line) => [START, INIT].includes(line.trim())).length

/** One file's new text: template parts resolved, the name replaced where it may be. */
function transform(file, text, from, to) {
  const blocks = blocksIn(text)
  const parts = blocks ? templateParts(file, text) : text.split('\n').map((line) => ({ kind: 'keep', line }))
  const base = posix.basename(file)
  const foreign = FOREIGN_LOCKFILES.has(base)
  let count = 0
  const lines = parts.map(({ kind, line }) => {
    if (kind === 'init' || from === to || foreign) return line
    if (base === 'bun.lock' && !BUN_LOCK_NAME.test(line)) return line
    const renamed = renameText(line, from, to)
    count += renamed.count
    return renamed.text
  })
  let next = lines.join('\n')
  // A removed block leaves the blank lines around it; keep one.
  if (blocks) next = next.replace(/\n{3,}/g, '\n\n').replace(/\n*$/, '\n')
  const revealed = parts.filter((part) => part.kind === 'init').map((part) => part.line.trim())
  return { text: next, count, blocks, revealed }
}

/** package.json once the project is no longer the template: its own version line, no template settings. */
function leaveTemplateManifest(text) {
  const manifest = JSON.parse(text)
  const { template: _template, ...rest } = manifest
  return `${JSON.stringify({ ...rest, version: '0.1.0' }, null, 2)}\n`
}

/**
 * Everything init would do to `files` (path → text, or a Buffer for a binary file): the writes, moves and removals,
 * per-file notes for the report, and the mentions of the old name that remain. Throws on what must stop it.
 */
export function planInit({ files, from, to }) {
  const manifest = JSON.parse(files.get('package.json') ?? '{}')
  const leaving = manifest.template !== undefined
  const removes = leaving ? (manifest.template.remove ?? []) : []
  for (const file of removes)
    if (!files.has(file))
      throw new Error(`package.json template.remove lists ${file}, which is not in the tree`)

  const outputs = new Map()
  const changes = []
  const revealed = new Map()
  const clashes = []
  // In any case, as `git grep -i` would find it afterwards: `mikroorm` stands for MikroORM already.
  const seesNew = from === to ? null : new RegExp(namePattern(to).source, 'i')
  for (const [file, text] of files) {
    if (removes.includes(file)) continue
    const target = from === to ? file : renameText(file, from, to).text
    if (target !== file && files.has(target)) throw new Error(`cannot move ${file}: ${target} exists`)
    if (typeof text !== 'string') {
      outputs.set(target, text)
      if (target !== file) changes.push({ file, target, notes: ['moved'] })
      continue
    }
    const result = transform(file, text, from, to)
    if (seesNew) clashes.push(...clashesIn(file, result.blocks, text, from, seesNew))
    let next = result.text
    const notes = []
    if (result.count) notes.push(`${result.count} renamed`)
    if (result.blocks) notes.push(`${result.blocks} template part${result.blocks > 1 ? 's' : ''} resolved`)
    if (leaving && file === 'package.json') {
      next = leaveTemplateManifest(next)
      notes.push('version 0.1.0, template settings removed')
    }
    if (leaving && file === 'README.md') {
      const titled = next.replace(/^# .*$/m, `# ${to}`)
      if (titled !== next) notes.push('title')
      next = titled
    }
    if (target !== file) notes.push(`moved to ${target}`)
    outputs.set(target, next)
    if (result.revealed.length) revealed.set(target, result.revealed)
    if (next !== text || target !== file) changes.push({ file, target, notes })
  }
  if (clashes.length) {
    const error = new Error(`${to} already appears in the project`)
    error.clashes = clashes
    throw error
  }
  // Keeping the name leaves every mention of it where it is, on purpose.
  const mentions = from === to ? { kept: [], left: [] } : mentionsOf(outputs, from, revealed)
  return { leaving, outputs, changes, removes, ...mentions }
}

/** Where the new name already stands for something else (old-name spellings that contain it do not count). */
function clashesIn(file, blocks, original, from, seesNew) {
  const found = []
  const stands = (text) =>
    text.replace(namePattern(from), (match) => '\0'.repeat(match.length)).match(seesNew)
  const lines = blocks ? templateParts(file, original).map((part) => part.line) : original.split('\n')
  // In bun.lock init renames only the `"name":` lines; hashes and versions may hold any short name by chance.
  const read = posix.basename(file) === 'bun.lock' ? lines.filter((line) => line.includes('"name":')) : lines
  for (const line of read) if (stands(line)) found.push(`${file}: ${line.trim().slice(0, 100)}`)
  if (stands(file)) found.push(`${file} (its path)`)
  return found
}

/**
 * Lines of `outputs` that still mention `from` in any spelling or case: kept when init uncovered them on purpose
 * (they name the template the project started from), left otherwise, each with the reason it was not renamed.
 */
export function mentionsOf(outputs, from, revealed) {
  const mentions = mentionTest(from)
  const kept = []
  const left = []
  for (const [file, text] of outputs) {
    if (mentions(file)) left.push({ file, reason: 'its path' })
    if (typeof text !== 'string') {
      if (mentions(text.toString('latin1')))
        left.push({ file, reason: 'a binary file; change it with its own tool' })
      continue
    }
    const base = posix.basename(file)
    text.split('\n').forEach((line, index) => {
      if (!mentions(line)) return
      const where = { file, line: index + 1, text: line.trim() }
      if (revealed.get(file)?.includes(line.trim())) kept.push(where)
      else if (FOREIGN_LOCKFILES.has(base))
        left.push({ ...where, reason: `a lockfile of another tool: regenerate it with that tool` })
      else if (base === 'bun.lock') left.push({ ...where, reason: 'a registry package, not this project' })
      else left.push({ ...where, reason: 'a spelling init does not derive; rename it by hand' })
    })
  }
  return { kept, left }
}
