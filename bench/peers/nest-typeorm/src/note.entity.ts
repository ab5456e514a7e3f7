import { Column, Entity, PrimaryColumn, VersionColumn } from 'typeorm'

// The notes table as the other peers read it; the schema is ours (migrated by the template), so no synchronize.
@Entity('notes')
export class Note {
  @PrimaryColumn('uuid')
  id!: string

  @Column({ length: 200 })
  title!: string

  @Column('text')
  body!: string

  @VersionColumn()
  version!: number

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date
}
