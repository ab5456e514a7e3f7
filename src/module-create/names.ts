import pluralize from 'pluralize'

/** Longer names make identifiers nobody wants to type, and Postgres names built from them must stay under 63. */
export const MAX_LENGTH = 40

/** Names that would collide with what the app or the module lists already use, and why. */
const RESERVED: Record<string, string> = {
  openapi: 'the app serves /openapi and /openapi/json itself',
  health: 'the health module serves /health',
  modules: 'src/modules/index.ts exports the module list under that name',
  entities: 'src/modules/entities.ts is the entity list',
  index: 'src/modules/index.ts is the module list',
}

/** One kebab-case name as each place writes it: `line-items` → line_items, LINE_ITEMS, LineItems, lineItems, … */
export interface Spellings {
  kebab: string
  snake: string
  upper: string
  pascal: string
  camel: string
  /** For prose: `line items`, and at the start of a sentence `Line items`. */
  words: string
  sentence: string
}

export interface ModuleNames {
  plural: Spellings
  singular: Spellings
}

const capitalize = (word: string) => word.charAt(0).toUpperCase() + word.slice(1)

export function spellingsOf(kebab: string): Spellings {
  const words = kebab.split('-')
  const pascal = words.map(capitalize).join('')
  return {
    kebab,
    snake: words.join('_'),
    upper: words.join('_').toUpperCase(),
    pascal,
    camel: pascal.charAt(0).toLowerCase() + pascal.slice(1),
    words: words.join(' '),
    sentence: capitalize(words.join(' ')),
  }
}

/** Why `name` cannot name a module's path, table and identifiers; empty when it can. */
function syntaxProblems(what: string, name: string): string[] {
  if (!name) return [`${what} is empty`]
  const problems: string[] = []
  const others = [...new Set(name.replace(/[a-z0-9-]/g, ''))]
  if (others.length > 0)
    problems.push(
      `${what} "${name}" contains ${others.map((char) => `"${char}"`).join(', ')}; only lower-case a-z, 0-9 and - are allowed ` +
        '(it becomes a URL path, a table name and part of identifiers)',
    )
  const words = name.split('-')
  if (words.some((word) => word === ''))
    problems.push(`${what} "${name}" has an empty word: no leading, trailing or doubled -`)
  if (words.some((word) => /^[0-9]/.test(word)))
    problems.push(
      `${what} "${name}" has a word that starts with a digit; identifiers such as createX are built from it`,
    )
  if (name.length > MAX_LENGTH)
    problems.push(`${what} "${name}" has ${name.length} characters; at most ${MAX_LENGTH}`)
  return problems
}

/**
 * The names of a module from its plural resource name (`line-items`): the singular comes from `--singular` or,
 * by pluralize's English rules, from the last word (`items` → `item`). Returns every problem when there are any.
 */
export function moduleNames(
  name: string,
  singular?: string,
): { names: ModuleNames; problems: [] } | { names?: undefined; problems: string[] } {
  const problems = syntaxProblems('the name', name)
  if (RESERVED[name]) problems.push(`"${name}" is reserved: ${RESERVED[name]}`)
  if (singular !== undefined) problems.push(...syntaxProblems('--singular', singular))
  if (problems.length > 0) return { problems }
  const words = name.split('-')
  const last = words.at(-1) as string
  let one = singular
  if (one === undefined) {
    const guess = pluralize.singular(last)
    if (!pluralize.isPlural(last))
      return {
        problems: [
          `"${name}" looks singular; name the collection, e.g. "${[...words.slice(0, -1), pluralize.plural(last)].join('-')}"`,
        ],
      }
    if (guess === last)
      return {
        problems: [
          `"${last}" reads the same in the singular, so the generated names would clash; ` +
            'pass --singular <name> with a different word, or choose another name',
        ],
      }
    one = [...words.slice(0, -1), guess].join('-')
  }
  if (one === name) return { problems: ['--singular must differ from the name, which is the plural'] }
  return { names: { plural: spellingsOf(name), singular: spellingsOf(one) }, problems: [] }
}
