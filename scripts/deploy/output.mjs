// What the deploy prints: numbered and timed steps, indented details, and failures that say what to do.
import { chalk } from 'zx'

/** Prints a problem and what to do about it, then exits. */
export function fail(problem, todo, code = 1) {
  console.error(
    `${chalk.red('deploy failed:')} ${problem}${todo ? `\n${chalk.yellow('what to do:')} ${todo}` : ''}`,
  )
  process.exit(code)
}

/** A detail line under the current step. */
export const info = (line) => console.log(`    ${line}`)

/** Seconds since a performance.now() reading, to one decimal. */
export const seconds = (since) => ((performance.now() - since) / 1000).toFixed(1)

/**
 * The steps of one run, counted and timed into `figures`. `beforeEach` runs once a step is announced and before
 * its work (the lock refreshes itself there).
 */
export function createSteps(beforeEach) {
  const started = performance.now()
  const figures = {}
  let count = 0
  let total = 0
  return {
    figures,
    /** Seconds since the run started. */
    elapsed: () => seconds(started),
    /** How many steps the action will announce, for the [n/total] counter. */
    expect(steps) {
      total = steps
    },
    /** Announces a step and times it into `figures`. */
    async step(name, detail, work) {
      count++
      const since = performance.now()
      console.log(chalk.bold.cyan(`==> [${count}/${total}] ${name}`) + (detail ? ` ${detail}` : ''))
      await beforeEach()
      const result = await work()
      figures[name] = Number(seconds(since))
      return result
    },
  }
}
