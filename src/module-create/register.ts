import ts from 'typescript-compiler-api'

/** A source file and where its imports end, for the edits below. */
function parse(file: string, text: string) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const imports = source.statements.filter(ts.isImportDeclaration)
  return { source, importsEnd: imports.at(-1)?.getEnd() ?? 0 }
}

/** `text` with `insert` placed at `at`, and `importLine` after the last import. */
function splice(text: string, importsEnd: number, importLine: string, at: number, insert: string): string {
  const edits = [
    { at, insert },
    { at: importsEnd, insert: `${importsEnd === 0 ? '' : '\n'}${importLine}${importsEnd === 0 ? '\n' : ''}` },
  ].sort((a, b) => b.at - a.at)
  return edits.reduce((result, edit) => result.slice(0, edit.at) + edit.insert + result.slice(edit.at), text)
}

/**
 * `text` with `element` appended to the array that `export const <list> = [...]` declares, and `importLine` added:
 * how src/modules/index.ts and src/modules/entities.ts take a new module. Biome formats the result afterwards.
 */
export function appendToList(file: string, text: string, list: string, element: string, importLine: string) {
  const { source, importsEnd } = parse(file, text)
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue
    for (const declaration of statement.declarationList.declarations) {
      const array = declaration.initializer
      if (
        ts.isIdentifier(declaration.name) &&
        declaration.name.text === list &&
        array &&
        ts.isArrayLiteralExpression(array)
      ) {
        const last = array.elements.at(-1)
        const at = last ? last.getEnd() : array.getEnd() - 1
        return splice(text, importsEnd, importLine, at, last ? `, ${element}` : element)
      }
    }
  }
  throw new Error(
    `expected ${file} to declare \`export const ${list} = [...]\`; add ${element} to it by hand, with ${importLine}`,
  )
}

/**
 * `text` with `statement` inserted before the top-level call of `before(...)` inside function `inside`, and
 * `importLine` added: how test/contract/index.ts runs a new module's contract before the coverage check.
 */
export function insertBeforeCall(
  file: string,
  text: string,
  inside: string,
  before: string,
  statement: string,
  importLine: string,
) {
  const { source, importsEnd } = parse(file, text)
  const fn = source.statements.find(
    (node): node is ts.FunctionDeclaration => ts.isFunctionDeclaration(node) && node.name?.text === inside,
  )
  const call = fn?.body?.statements.find(
    (node) =>
      ts.isExpressionStatement(node) &&
      ts.isCallExpression(node.expression) &&
      ts.isIdentifier(node.expression.expression) &&
      node.expression.expression.text === before,
  )
  if (!call)
    throw new Error(
      `expected ${file} to call ${before}(...) in function ${inside}; add ${statement} before it by hand, with ${importLine}`,
    )
  return splice(text, importsEnd, importLine, call.getStart(), `${statement}\n  `)
}
