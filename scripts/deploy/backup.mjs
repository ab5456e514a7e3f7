// The backup step: a pg_dump of the live database into backups/ on the server before migrations run.
import { fail, info } from './output.mjs'

/** Shell that dumps the database through `dbExec` (custom format), keeps the newest backups, prints "file bytes". */
export const dumpAndPrune = (dbExec, keepBackups) => `
    # Private to the deploy user (the scripts' umask 077; the folder may predate it): a dump holds every row.
    # A dump that fails leaves no partial file behind.
    mkdir -p backups && chmod 0700 backups && rm -f backups/*.part
    file="backups/$(date -u +%Y%m%dT%H%M%SZ)-$REL.dump"
    trap 'rm -f "$file.part"' EXIT
    ${dbExec} sh -c 'pg_dump --format=custom --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"' < /dev/null > "$file.part"
    mv "$file.part" "$file"
    ls -1 backups/*.dump | sort -r | tail -n +${keepBackups + 1} | while read -r old; do rm -f "$old"; done
    printf '%s %s\\n' "$file" "$(wc -c < "$file")"
`

/** Runs a backup script on the server; "none" means there is no database yet. Returns the file, if any. */
async function runBackup({ settings, ssh }, release, script, todo) {
  const out = await ssh
    .remote(script, { release })
    .catch((error) => fail(`backup failed, nothing was changed: ${error.stderr}`, todo))
  const last = out.split('\n').pop()
  if (last === 'none') return info('no database yet (first deploy): nothing to back up')
  const [file, bytes] = last.split(' ')
  info(`${settings.dir}/${file} (${(Number(bytes) / 1024).toFixed(1)} KiB)`)
  return file
}

// --pull: the newest postgres:17 patch release first; the `up` after it restarts the db on it.
const PULL_DB = 'compose pull --quiet db || exit 1'

/** Compose mode: the db service is started if needed (a first deploy creates it empty), then dumped. */
export function backup(ctx, release) {
  return runBackup(
    ctx,
    release,
    `
    ${ctx.args?.pull ? PULL_DB : ''}
    compose up --detach --wait --no-deps db >/dev/null 2>&1 || { compose up --detach --wait --no-deps db; exit 1; }
    ${dumpAndPrune('compose exec -T db', ctx.settings.keepBackups)}`,
    'check the db container (`--logs`, `--status`) and disk space, then deploy again',
  )
}

/** Swarm mode: the db task on this manager, if the stack has one yet. */
export function swarmBackup(ctx, release) {
  return runBackup(
    ctx,
    release,
    `
    db=$(docker ps --quiet --filter "label=com.docker.swarm.service.name=\${PROJECT}_db" | head -n 1)
    [ -n "$db" ] || { echo 'none'; exit 0; }
    ${dumpAndPrune('docker exec "$db"', ctx.settings.keepBackups)}`,
    'check the db service (`docker service ps`), then deploy again',
  )
}
