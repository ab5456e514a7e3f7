// The project's name: which names are allowed, how each is spelled in code, and swapping one for another in text.
import validateNpmName from 'validate-npm-package-name'

/**
 * Names derived from the project's must stay within the 63 characters Docker and Postgres allow: the swarm job
 * `<name>-prod_migrate` and the test databases `<name>_test_<16 hex>` are the longest (docs/decisions/0040).
 */
export const MAX_LENGTH = 40

/** Every reason `name` cannot be the project's name, each saying why; empty when it can. */
export function nameProblems(name) {
  if (!name) return ['it is empty']
  const problems = []
  if (name.length > MAX_LENGTH)
    problems.push(
      `it has ${name.length} characters; at most ${MAX_LENGTH} leave room for the names built from it ` +
        '(Docker service and Postgres database names stop at 63)',
    )
  if (/[A-Z]/.test(name))
    problems.push('it has capital letters; image names, compose projects and npm names are lowercase')
  const others = [...new Set(name.replace(/[A-Za-z0-9-]/g, ''))]
  if (others.length)
    problems.push(
      `it contains ${others.map((char) => `"${char}"`).join(', ')}; only a-z, 0-9 and - are allowed (a DNS label)`,
    )
  if (!/^[A-Za-z]/.test(name))
    problems.push('it does not start with a letter; it also becomes part of identifiers in code, e.g. FooBar')
  if (name.endsWith('-')) problems.push('it ends with -; a DNS label ends with a letter or digit')
  if (name.includes('--'))
    problems.push('it has -- ; its spellings in code (a__b, AB) could not be told apart from those of a-b')
  const npm = validateNpmName(name)
  for (const message of [...(npm.errors ?? []), ...(npm.warnings ?? [])]) problems.push(`npm: ${message}`)
  return problems
}

/** How a (valid) name is written where `-` cannot go: `corn-mill` → corn_mill, CORN_MILL, CornMill, cornMill. */
export function spellings(name) {
  const words = name.split('-')
  const pascal = words.map((word) => word[0].toUpperCase() + word.slice(1)).join('')
  return {
    kebab: name,
    snake: words.join('_'),
    upper: words.join('_').toUpperCase(),
    pascal,
    camel: pascal[0].toLowerCase() + pascal.slice(1),
  }
}

const literal = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Any spelling of `name` standing on its own: not glued to letters or digits that would make it another word
 * (`bakers` is not `baker`), but allowed next to `-`, `_`, `.`, `/`, `:` and, where code composes names, capitals.
 */
export function namePattern(name) {
  const s = spellings(name)
  const lower = [...new Set([s.kebab, s.snake, s.camel])].map(literal).join('|')
  return new RegExp(
    [
      `(?<![A-Za-z0-9])(?:${lower})(?![a-z0-9])`,
      `${literal(s.pascal)}(?![a-z0-9])`,
      `(?<![A-Za-z0-9])${literal(s.upper)}(?![A-Za-z0-9])`,
    ].join('|'),
    'g',
  )
}

/** Replaces every spelling of `from` in `text` by the same spelling of `to`; returns the text and the count. */
export function renameText(text, from, to) {
  const a = spellings(from)
  const b = spellings(to)
  const oneWord = !from.includes('-')
  let count = 0
  const renamed = text.replace(namePattern(from), (match, offset, whole) => {
    count++
    if (match === a.upper) return b.upper
    if (match === a.pascal) return b.pascal
    if (!oneWord) return match === a.kebab ? b.kebab : match === a.snake ? b.snake : b.camel
    // A one-word name is spelled the same in kebab, snake and camel case: its neighbours say which is meant.
    const before = whole[offset - 1]
    const after = whole[offset + match.length]
    if (after && /[A-Z]/.test(after)) return b.camel
    if (before === '_' || after === '_') return b.snake
    return b.kebab
  })
  return { text: renamed, count }
}

/** Whether a line mentions `name` in any spelling and any case, as `git grep -i` would find it. */
export function mentionTest(name) {
  const pattern = new RegExp([...new Set(Object.values(spellings(name)))].map(literal).join('|'), 'i')
  return (line) => pattern.test(line)
}
