import type { AnyElysia } from 'elysia'
import type { Config } from '../config'
import type { Orm } from '../db'
import { health } from './health'
import { notes } from './notes'

/** What a module's routes may use: the ORM (one EntityManager fork per request) and the settings. */
export interface ModuleDeps {
  orm: Orm
  config: Pick<Config, 'release'>
}

export interface Module {
  /** The OpenAPI tag its routes carry. */
  tag: { name: string; description: string }
  routes(deps: ModuleDeps): AnyElysia
}

/** Every feature, in the order its routes are registered; `bun run module:create` appends here. */
export const modules: Module[] = [
  { tag: { name: 'notes', description: 'Example feature module' }, routes: notes },
  { tag: { name: 'health', description: 'Liveness and readiness probes' }, routes: health },
]
