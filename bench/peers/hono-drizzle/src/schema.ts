import { integer, pgTable, text, timestamp, uuid, varchar } from 'drizzle-orm/pg-core'

// The notes table as the template's migration made it; Drizzle only reads it here.
export const notes = pgTable('notes', {
  id: uuid().primaryKey(),
  title: varchar({ length: 200 }).notNull(),
  body: text().notNull(),
  version: integer().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
})
