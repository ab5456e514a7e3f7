import { expect, it } from 'vitest'

// Not part of any suite: test/debugging.test.ts runs it under the debugger with "Debug current test file".
it('stops where a breakpoint is set', () => {
  const loaves = ['rye', 'spelt']
  const count = loaves.length // breakpoint
  expect(count).toBe(2)
})
