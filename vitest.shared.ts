import type { ViteUserConfig } from 'vitest/config'

type Reporters = NonNullable<NonNullable<ViteUserConfig['test']>['reporters']>

/** Every suite prints the default report; CI also asks for a JSON report to add up the totals of all suites. */
export const reporters: Reporters = process.env.VITEST_JSON_REPORT
  ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]]
  : ['default']
