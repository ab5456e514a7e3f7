import { Note } from './notes/entity'

/** Every entity the ORM maps, listed so bundled builds need no file-system discovery; `bun run module:create` appends here. */
export const entities = [Note]
