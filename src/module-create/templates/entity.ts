import { defineEntity, p } from '@mikro-orm/core'

// A starting shape, like the notes module's: rename or replace `name` and `description` with what a sample thing holds.
export const SAMPLE_THING_NAME_MAX = 200
export const SAMPLE_THING_DESCRIPTION_MAX = 100_000

const SampleThingSchema = defineEntity({
  name: 'SampleThing',
  tableName: 'sample_things',
  properties: {
    // UUIDv7 is time-ordered, so the primary key doubles as a stable pagination cursor.
    id: p
      .uuid()
      .primary()
      .onCreate(() => Bun.randomUUIDv7()),
    name: p.string().length(SAMPLE_THING_NAME_MAX),
    description: p.text().default(''),
    // MikroORM adds `where version = ?` to every update and bumps it: optimistic concurrency.
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
})

export class SampleThing extends SampleThingSchema.class {}
SampleThingSchema.setClass(SampleThing)
