import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript-compiler-api'
import { type ModuleNames, type Spellings, spellingsOf } from './names'

export const ROOT = join(import.meta.dirname, '../..')
export const TEMPLATE_DIR = 'src/module-create/templates'

/** The module the templates are written for: real TypeScript that reads like a module, renamed by spelling. */
export const SAMPLE: ModuleNames = {
  plural: spellingsOf('sample-things'),
  singular: spellingsOf('sample-thing'),
}

/** Each template and where its copy goes. */
export const FILES: { template: string; target: (names: ModuleNames) => string }[] = [
  ...['entity', 'model', 'service', 'index'].map((part) => ({
    template: `${part}.ts`,
    target: ({ plural }: ModuleNames) => `src/modules/${plural.kebab}/${part}.ts`,
  })),
  { template: 'contract.ts', target: ({ plural }) => `test/contract/${plural.kebab}.ts` },
]

// Words a binding cannot be named in a strict-mode module (ECMAScript's reserved words, plus eval and arguments).
const RESERVED_WORDS = new Set(
  (
    'await break case catch class const continue debugger default delete do else enum eval export extends false ' +
    'finally for function if implements import in instanceof interface let new null package private protected ' +
    'public return static super switch this throw true try typeof var void while with yield arguments'
  ).split(' '),
)

/** Every spelling of the sample name paired with the same spelling of `names`, longest first (plural before singular). */
function pairs(names: ModuleNames): [string, string][] {
  const forms = (['plural', 'singular'] as const).flatMap((number) =>
    (Object.keys(SAMPLE[number]) as (keyof Spellings)[]).map((key): [string, string] => [
      SAMPLE[number][key],
      names[number][key],
    ]),
  )
  return [...new Map(forms)].sort(([a], [b]) => b.length - a.length)
}

/** `text` with every spelling of the sample name replaced by the same spelling of `names`. */
export function render(text: string, names: ModuleNames): string {
  const map = new Map(pairs(names))
  const pattern = new RegExp([...map.keys()].map((spelling) => RegExp.escape(spelling)).join('|'), 'g')
  return text.replace(pattern, (match) => map.get(match) as string)
}

/** Every identifier in TypeScript source (declared or referenced, property names too), not comments or strings. */
export function identifiersIn(file: string, text: string): Set<string> {
  const found = new Set<string>()
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) found.add(node.text)
    ts.forEachChild(node, visit)
  }
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true))
  return found
}

const mentionsSample = (identifier: string) =>
  pairs(SAMPLE).some(([spelling]) => identifier.includes(spelling))

export const readTemplate = (template: string) => readFileSync(join(ROOT, TEMPLATE_DIR, template), 'utf8')

/**
 * Why the templates' identifiers, renamed for `names`, would not compile or would mean something else: one that
 * becomes a reserved word, or one a template already uses for something else (`pages` would declare a `Page` entity
 * beside the service's `Page` type; `dates` a `Date` class that hides the global one).
 */
export function identifierClashes(names: ModuleNames): string[] {
  const reserved = new Set<string>()
  const clashes = new Map<string, string[]>()
  for (const { template } of FILES) {
    const identifiers = identifiersIn(template, readTemplate(template))
    for (const identifier of identifiers) {
      if (!mentionsSample(identifier)) continue
      const renamed = render(identifier, names)
      if (RESERVED_WORDS.has(renamed)) reserved.add(renamed)
      else if (identifiers.has(renamed) && !mentionsSample(renamed))
        clashes.set(renamed, [...new Set([...(clashes.get(renamed) ?? []), `${TEMPLATE_DIR}/${template}`])])
    }
  }
  return [
    ...[...reserved].map(
      (word) => `the generated code would name a variable "${word}", a reserved word in JavaScript`,
    ),
    ...[...clashes].map(
      ([identifier, files]) =>
        `the generated code would call part of the module "${identifier}", which ${files.join(', ')} already use${files.length === 1 ? 's' : ''} for something else`,
    ),
  ]
}
