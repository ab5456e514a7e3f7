import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript-compiler-api'
import { describe, expect, it } from 'vitest'
import { moduleNames } from '../src/module-create/names'
import { appendToList, insertBeforeCall } from '../src/module-create/register'
import {
  FILES,
  identifierClashes,
  ROOT,
  readTemplate,
  render,
  TEMPLATE_DIR,
} from '../src/module-create/template'

// The parts of `bun run module:create` that need no database; test/module/ generates a module in a copy for real.
const names = (name: string, singular?: string) => {
  const result = moduleNames(name, singular)
  if (!result.names) throw new Error(`expected ${name} to be accepted, got ${result.problems.join('; ')}`)
  return result.names
}

describe('module names', () => {
  it('derives every spelling from the plural, the singular by English rules or --singular', () => {
    expect(names('line-items')).toEqual({
      plural: {
        kebab: 'line-items',
        snake: 'line_items',
        upper: 'LINE_ITEMS',
        pascal: 'LineItems',
        camel: 'lineItems',
        words: 'line items',
        sentence: 'Line items',
      },
      singular: {
        kebab: 'line-item',
        snake: 'line_item',
        upper: 'LINE_ITEM',
        pascal: 'LineItem',
        camel: 'lineItem',
        words: 'line item',
        sentence: 'Line item',
      },
    })
    const singular = (name: string, override?: string) => names(name, override).singular.kebab
    expect(
      ['widgets', 'categories', 'people', 'addresses', 'statuses', 's3-objects'].map((n) => singular(n)),
    ).toEqual(['widget', 'category', 'person', 'address', 'status', 's3-object'])
    // The rules guess `cooky`; --singular says otherwise.
    expect([singular('cookies'), singular('cookies', 'cookie')]).toEqual(['cooky', 'cookie'])
  })

  it('refuses a name that is not a plural, lower-case, kebab-case word list, or is reserved, saying why', () => {
    const cases: [string, string | undefined, RegExp][] = [
      ['', undefined, /the name is empty/],
      ['Widgets', undefined, /contains "W"; only lower-case a-z, 0-9 and -/],
      ['line_items', undefined, /contains "_"/],
      ['line--items', undefined, /empty word/],
      ['-items', undefined, /empty word/],
      ['2fa-codes', undefined, /starts with a digit/],
      [`${'x'.repeat(40)}s`, undefined, /41 characters; at most 40/],
      ['openapi', undefined, /reserved: the app serves \/openapi/],
      ['modules', undefined, /reserved: src\/modules\/index\.ts exports the module list/],
      ['status', undefined, /looks singular; name the collection, e.g. "statuses"/],
      ['news', undefined, /reads the same in the singular.*--singular/],
      ['widgets', 'widgets', /--singular must differ/],
      ['widgets', 'Widget', /--singular "Widget" contains "W"/],
    ]
    for (const [name, singular, reason] of cases) {
      const { problems } = moduleNames(name, singular)
      expect([name, problems.join('\n')]).toEqual([name, expect.stringMatching(reason)])
    }
  })
})

describe('module templates', () => {
  it('leave no spelling of the sample name behind, whatever the name', () => {
    for (const name of ['widgets', 'line-items', 'people']) {
      for (const { template } of FILES) {
        const text = render(readTemplate(template), names(name))
        expect([name, template, text.match(/sample/gi)]).toEqual([name, template, null])
      }
    }
  })

  it('refuse names whose identifiers would clash with what the templates already use', () => {
    expect(identifierClashes(names('widgets'))).toEqual([])
    expect(identifierClashes(names('items'))).toEqual([])
    expect(identifierClashes(names('pages')).join('\n')).toMatch(
      /"Page", which src\/module-create\/templates\/service\.ts/,
    )
    expect(identifierClashes(names('dates')).join('\n')).toMatch(
      /"Date", which src\/module-create\/templates\/entity\.ts/,
    )
    expect(identifierClashes(names('cases'))).toEqual([
      'the generated code would name a variable "case", a reserved word in JavaScript',
    ])
  })
})

describe('registering a module', () => {
  it('appends to the list and imports what it adds, leaving formatting to Biome', () => {
    const text = "import { a } from './a'\n\nexport const list = [\n  a,\n]\n"
    expect(appendToList('list.ts', text, 'list', 'b', "import { b } from './b'")).toBe(
      "import { a } from './a'\nimport { b } from './b'\n\nexport const list = [\n  a, b,\n]\n",
    )
    expect(appendToList('list.ts', 'export const list = []\n', 'list', 'b', "import { b } from './b'")).toBe(
      "import { b } from './b'\nexport const list = [b]\n",
    )
  })

  it('puts a contract before the coverage check', () => {
    const text = "import { c } from './c'\n\nexport function all() {\n  run(a)\n  coverage(a)\n}\n"
    expect(insertBeforeCall('index.ts', text, 'all', 'coverage', 'run(b)', "import { b } from './b'")).toBe(
      "import { c } from './c'\nimport { b } from './b'\n\nexport function all() {\n  run(a)\n  run(b)\n  coverage(a)\n}\n",
    )
  })

  it('says what to add by hand when a list is not where it should be', () => {
    expect(() =>
      appendToList('src/modules/index.ts', 'export const other = []\n', 'modules', 'x', 'import x'),
    ).toThrow(
      'expected src/modules/index.ts to declare `export const modules = [...]`; add x to it by hand, with import x',
    )
    expect(() =>
      insertBeforeCall('index.ts', 'export function all() {}\n', 'all', 'coverage', 'run(b)', 'i'),
    ).toThrow('expected index.ts to call coverage(...) in function all')
  })
})

/**
 * The code of a module with comments, formatting, prose and names normalised away: resource spellings become
 * PLURAL/SINGULAR and field names FIELD, so what remains is structure (calls, options, statuses, imports, literals).
 */
function structure(file: string, resource: { plural: RegExp; singular: RegExp }): string[] {
  const normalise = (text: string) =>
    text.replace(resource.plural, 'PLURAL').replace(resource.singular, 'SINGULAR').replace(FIELDS, 'FIELD')
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const [normalised] = ts.transform(source, [
    (context) => (root) => {
      const visit = (node: ts.Node): ts.Node => {
        if (ts.isIdentifier(node)) return ts.factory.createIdentifier(normalise(node.text))
        if (ts.isStringLiteral(node)) {
          const parent = node.parent
          const prose =
            parent && ts.isPropertyAssignment(parent) && /^(summary|description)$/.test(parent.name.getText())
          return ts.factory.createStringLiteral(prose ? 'PROSE' : normalise(node.text))
        }
        return ts.visitEachChild(node, visit, context)
      }
      return ts.visitNode(root, visit) as ts.SourceFile
    },
  ]).transformed
  return ts
    .createPrinter({ removeComments: true })
    .printFile(normalised as ts.SourceFile)
    .replace(/\s+/g, ' ')
    .replace(/,\s*([}\])])/g, '$1')
    .replace(/\s*([{}()[\],;:])\s*/g, '$1')
    .split(/(?<=[;{])/)
}
// The notes fields and the template's, and the words they are built into (NOTE_TITLE_MAX, Description).
const FIELDS = /title|body|name|description/gi

describe('the module template and the notes module', () => {
  const notes = join(ROOT, 'src/modules/notes')

  it.skipIf(!existsSync(notes))(
    'have the same structure, apart from names, fields, prose and comments',
    () => {
      for (const part of ['entity', 'model', 'service', 'index']) {
        const template = structure(join(ROOT, TEMPLATE_DIR, `${part}.ts`), {
          plural: /sample[-_ ]?things/gi,
          singular: /sample[-_ ]?thing/gi,
        })
        const example = structure(join(notes, `${part}.ts`), { plural: /notes/gi, singular: /note/gi })
        // On failure: change src/module-create/templates to match (or notes, if that was the mistake), so generated modules follow.
        expect([part, template]).toEqual([part, example])
      }
    },
  )
})
