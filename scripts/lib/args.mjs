// Command-line arguments of a zx script, the same however it was started: `zx scripts/x.mjs …`,
// `bun run x -- …` (which runs zx) or `node scripts/x.mjs …`.
import { realpathSync } from 'node:fs'
import { parseArgv } from 'zx'

/**
 * Parses the arguments after the script's own path with zx's parser (minimist options).
 * Under the zx CLI, process.argv holds zx's path and then the script's, so a fixed slice(2) would read the script
 * path as the first argument; the script's own position in process.argv is what counts.
 */
export function scriptArgs(scriptPath, options) {
  const self = realpathSync(scriptPath)
  const index = process.argv.findIndex((arg, i) => i > 0 && samePath(arg, self))
  return parseArgv(process.argv.slice(index + 1), options)
}

function samePath(arg, self) {
  try {
    return realpathSync(arg) === self
  } catch {
    return false
  }
}
