import { PreconditionFailed, VersionConflict } from './errors'

/**
 * What a change requires of the current version: one of `versions`, or any existing one when absent.
 * A `precondition` (e.g. a conditional request) that fails is a PreconditionFailed; a stale `version` the caller
 * sent with its data is a VersionConflict.
 */
export interface VersionCondition {
  kind: 'precondition' | 'version'
  versions?: readonly number[]
}

export const acceptsVersion = (condition: VersionCondition, current: number) =>
  condition.versions === undefined || condition.versions.includes(current)

/** The error for a change whose condition does not hold; `current` is undefined when a concurrent writer won. */
export const versionMismatch = (
  condition: VersionCondition,
  entity: string,
  id: string,
  current: number | undefined,
) =>
  condition.kind === 'precondition'
    ? new PreconditionFailed(entity, id, current)
    : new VersionConflict(entity, id, current)
