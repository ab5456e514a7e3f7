import { FormatRegistry } from '@sinclair/typebox'

// The predicate @elysiajs/openapi 1.4.16 registers for `uuid` (zod's RFC 9562 pattern), compiled once: its own
// version builds a new zod schema on every check, which cost ~40 % of a GET /notes/:id in a CPU profile.
export const UUID =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/

/** Re-registers string formats that plugins replaced with slow ones; call after every plugin has been imported. */
export function registerFormats(): void {
  FormatRegistry.Set('uuid', (value) => UUID.test(value))
}

/**
 * Text Postgres can store and JSON can carry back unchanged: no U+0000 (text columns cannot hold it) and no lone
 * surrogate (stored as U+FFFD, so the note read back would differ from the one acknowledged under the same ETag).
 */
export const STORABLE_TEXT = '^(?:[^\\u0000\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$'
