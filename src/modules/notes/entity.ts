import { defineEntity, p } from '@mikro-orm/core'

export const NOTE_TITLE_MAX = 200
export const NOTE_BODY_MAX = 100_000

const NoteSchema = defineEntity({
  name: 'Note',
  tableName: 'notes',
  properties: {
    // UUIDv7 is time-ordered, so the primary key doubles as a stable pagination cursor.
    id: p
      .uuid()
      .primary()
      .onCreate(() => Bun.randomUUIDv7()),
    title: p.string().length(NOTE_TITLE_MAX),
    body: p.text().default(''),
    // MikroORM adds `where version = ?` to every update and bumps it: optimistic concurrency.
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
})

export class Note extends NoteSchema.class {}
NoteSchema.setClass(Note)
