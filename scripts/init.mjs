#!/usr/bin/env zx
// `bun run init <name>`: turns a copy of the template into the named project. It renames the project wherever it
// is named (contents and paths), drops the template's own parts and prints what it changed; see ADR 0040.
import { existsSync, lstatSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs'
import { $, chalk, fs, path } from 'zx'
import { scriptArgs } from './lib/args.mjs'
import { mentionsOf, planInit } from './lib/init-plan.mjs'
import { nameProblems } from './lib/names.mjs'

const HELP = `Usage: bun run init <name> [--dry-run] [--force]

Makes this copy of the template your project, named <name>: package, images, compose projects, database role
and name, dev container, deploy paths, labels and docs, in the contents and path of every file git lists.
Tools and images the project uses (Bun, Elysia, postgres:17, ...) are left alone. The first run also removes the
template's own parts (its figures, chart and badge placeholder) and resets the version to 0.1.0.
Running it again with the same name changes nothing; with another name it renames the project again.

<name> is a DNS label and an npm name: a-z, 0-9 and -, starting with a letter, at most 40 characters,
and not a word the project already uses for something else.

Options:
  --dry-run   print what would change and write nothing
  --force     run on a work tree with uncommitted changes (they are renamed too)
  --help      this text`

/** Prints the problem and what to do about it, then exits: 2 for bad arguments, 1 for the state of the tree. */
function fail(problem, todo, code = 1) {
  console.error(`${chalk.red('init:')} ${problem}${todo ? `\n${chalk.yellow('what to do:')} ${todo}` : ''}`)
  process.exit(code)
}

const args = scriptArgs(import.meta.filename, {
  boolean: ['dry-run', 'force', 'help'],
  unknown: (arg) => {
    if (arg.startsWith('-'))
      fail(
        `unknown option ${arg}; as a name it would not do either: a name starts with a letter`,
        'see bun run init --help',
        2,
      )
    return true
  },
})
if (args.help) {
  console.log(HELP)
  process.exit(0)
}
const dryRun = args['dry-run']
if (args._.length !== 1)
  fail(`expected one name, got ${args._.length ? args._.join(' ') : 'none'}`, 'bun run init <name>', 2)
const to = String(args._[0])
const problems = nameProblems(to)
if (problems.length)
  fail(`"${to}" cannot be the project's name:\n  - ${problems.join('\n  - ')}`, 'pick another name', 2)

const root = path.join(import.meta.dirname, '..')
$.cwd = root
$.quiet = true

if ((await $`git rev-parse --is-inside-work-tree`.nothrow()).exitCode !== 0)
  fail(
    'this is not a git work tree: init reads the file list from git and its changes are reviewed with git diff',
    'git init && git add -A && git commit -m "Start from the template", then run init again',
  )
const dirty = (await $`git status --porcelain --untracked-files=all -- .`).stdout.split('\n').filter(Boolean)
if (dirty.length && !args.force && !dryRun)
  fail(
    `the work tree has uncommitted changes (${dirty.slice(0, 3).join(', ').replace(/\s+/g, ' ')}${dirty.length > 3 ? ', …' : ''})`,
    'commit or stash them so `git diff` shows exactly what init changed, or run again with --force',
  )

const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const from = manifest.name
if (typeof from !== 'string' || nameProblems(from).length)
  fail(
    `package.json "name" is ${JSON.stringify(from)}, not a name init can find and replace across the project`,
    'set it to the name the project uses in its files (compose, images, ...), then run init again',
  )

/** Tracked and untracked (not ignored) regular files, as text, or as a Buffer when binary (a NUL in the first 8 KB). */
async function readTree() {
  const list = (await $`git ls-files -z --cached --others --exclude-standard`).stdout
    .split('\0')
    .filter(Boolean)
  const files = new Map()
  for (const file of [...new Set(list)].sort()) {
    const full = path.join(root, file)
    if (!existsSync(full) || !lstatSync(full).isFile()) continue
    const bytes = readFileSync(full)
    files.set(file, bytes.subarray(0, 8000).includes(0) ? bytes : bytes.toString('utf8'))
  }
  return files
}

const files = await readTree()
let plan
try {
  plan = planInit({ files, from, to })
} catch (error) {
  if (error.clashes)
    fail(
      `${to} already appears in the project, where it stands for something else:\n  ${error.clashes.slice(0, 8).join('\n  ')}` +
        (error.clashes.length > 8 ? `\n  … and ${error.clashes.length - 8} more` : '') +
        '\nA later init could not tell the project name from these.',
      'pick a name that does not appear yet, e.g. a more specific one',
      2,
    )
  fail(error.message, 'fix the file it names, commit, and run init again')
}

/** Deletes a file, then the directories it leaves empty. */
function removeFile(file) {
  unlinkSync(path.join(root, file))
  for (let dir = path.dirname(file); dir !== '.'; dir = path.dirname(dir)) {
    if (readdirSync(path.join(root, dir)).length) break
    rmdirSync(path.join(root, dir))
  }
}

let { kept, left } = plan
if (!dryRun) {
  for (const { file, target } of plan.changes) {
    await fs.outputFile(path.join(root, target), plan.outputs.get(target))
    if (target !== file) removeFile(file)
  }
  for (const file of plan.removes) removeFile(file)
  // Renaming changes line lengths and import order; Biome puts them back as `bun run check` expects.
  const written = plan.changes
    .map((change) => change.target)
    .filter((file) => typeof plan.outputs.get(file) === 'string')
  const biome = path.join(root, 'node_modules/.bin/biome')
  if (written.length && existsSync(biome)) {
    const result =
      await $`${biome} check --write --no-errors-on-unmatched --files-ignore-unknown=true ${written}`.nothrow()
    if (result.exitCode !== 0)
      console.error(
        `${chalk.yellow('init: biome check still complains after its fixes:')}\n${result.stdout}${result.stderr}`,
      )
  } else if (written.length)
    console.error(chalk.yellow('init: biome is not installed; run bun install, then bun run format'))
  // Line numbers after formatting, as git grep will show them.
  const revealed = new Map(plan.kept.map((mention) => [mention.file, []]))
  for (const mention of plan.kept) revealed.get(mention.file).push(mention.text)
  if (from !== to) ({ kept, left } = mentionsOf(await readTree(), from, revealed))
}

const verb = (done, would) => (dryRun ? would : done)
console.log(chalk.bold(`init: ${from} → ${to}${dryRun ? ' (dry run: nothing is written)' : ''}`))
if (!plan.changes.length && !plan.removes.length) {
  console.log(`nothing to change: the project is already named ${to} and holds nothing of the template's own`)
  process.exit(0)
}
const width = Math.max(...plan.changes.map((change) => change.file.length))
console.log(`${verb('changed', 'would change')} ${plan.changes.length} file(s):`)
for (const { file, notes } of plan.changes) console.log(`  ${file.padEnd(width)}  ${notes.join(', ')}`)
if (plan.removes.length)
  console.log(`${verb('removed', 'would remove')} the template's own files:\n  ${plan.removes.join('\n  ')}`)
if (kept.length) {
  console.log(`kept on purpose, naming the template this project started from (ADR 0040):`)
  for (const { file, line, text } of kept) console.log(`  ${file}:${line}: ${text}`)
}
if (left.length) {
  console.log(chalk.yellow(`not renamed, check by hand:`))
  for (const { file, line, text, reason } of left)
    console.log(chalk.yellow(`  ${file}${line ? `:${line}: ${text}` : ''} (${reason})`))
}
console.log(
  dryRun ? 'run again without --dry-run to apply' : 'next: review with git status and git diff, then commit',
)
