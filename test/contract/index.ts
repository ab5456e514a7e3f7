import { describe } from 'vitest'
import { conditionalContract } from './conditional'
import { coverageContract, documentContract } from './document'
import { faultsContract } from './faults'
import { Contract } from './harness'
import { healthContract } from './health'
import { notesContract } from './notes'
import { plumbingContract } from './plumbing'
import type { ContractTarget } from './target'
import { validationContract } from './validation'

/**
 * The whole contract, declared against whichever target `target()` returns once the suite's setup has run.
 * The areas run in this order, one test at a time; the coverage check comes last, over every answer received.
 */
export function describeContract(target: () => ContractTarget) {
  const api = new Contract(target)
  describe('notes', () => notesContract(api))
  describe('conditional requests', () => conditionalContract(api))
  describe('validation', () => validationContract(api))
  describe('HTTP plumbing', () => plumbingContract(api))
  describe('health', () => healthContract(api))
  describe('database faults', () => faultsContract(api))
  describe('document', () => documentContract(api))
  coverageContract(api)
}
