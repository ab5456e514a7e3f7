import { Migration } from '@mikro-orm/migrations'

export class Migration20261126022135_notes extends Migration {
  override name = 'Migration20261126022135_notes'

  override up(): void {
    this.addSql(
      `create table "notes" ("id" uuid not null, "title" varchar(200) not null, "body" text not null default '', "version" int not null default 1, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    )
  }

  override down(): void {
    this.addSql('drop table if exists "notes";')
  }
}
