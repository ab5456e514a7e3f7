import { withDatabase } from './cli'
import { describeUrl, migrate } from './db'

await withDatabase(
  'set DATABASE_URL (or DATABASE_HOST and friends); `bun run dev` migrates its embedded database itself',
  async (orm, log, url) => {
    try {
      const applied = await migrate(orm)
      log.info(applied.length ? 'migrations applied' : 'schema already up to date', {
        database: describeUrl(url),
        applied,
      })
    } catch (error) {
      log.error('migration failed; nothing after the failing migration was applied', {
        error: (error as Error).message,
      })
      process.exitCode = 1
    }
  },
)
