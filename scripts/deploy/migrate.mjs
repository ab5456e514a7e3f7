// The migrate step: the app's database role is brought up to date (deploy/db/roles.sh, run by the db container's
// superuser over its socket), then the new image's migrator runs once, after the backup and before any traffic moves.
import { info } from './output.mjs'
import { problems } from './swarm.mjs'

const ROLES_FAILED = 'deploy/db/roles.sh failed in the db container'

/** Runs the roles script the upload put on the server in the db container `dbExec` names; fails loudly. */
const setRoles = (dbExec) => `
    ${dbExec} sh -s < deploy/db/roles.sh || { echo '${ROLES_FAILED}' >&2; exit 1; }`

/** Compose mode: roles, then `compose run migrate` with the new image. Returns an error message, or undefined. */
export async function migrate({ ssh }, release) {
  const result = await ssh.remote(
    `${setRoles('compose exec -T db')}
    compose run --rm -T migrate < /dev/null`,
    {
      release,
      nothrow: true,
    },
  )
  const lines = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((line) => line.includes('"msg"') || line.includes('migration'))
  if (result.exitCode !== 0) {
    console.error(`${result.stdout}\n${result.stderr}`)
    if (result.stderr.includes(ROLES_FAILED))
      return `${ROLES_FAILED} (its error is above), before any migration; the old release keeps serving`
    return `migrations failed with ${release.image} (the migrator runs them in one transaction, so none were applied); the old release keeps serving`
  }
  for (const line of lines.slice(-3)) info(line.trim())
}

/**
 * Swarm mode: a one-off job on the stack's internal network, with the stack's secret: the swarm form of
 * `compose run migrate`. Returns { skipped } when there is no database yet, { error } on failure, else {}.
 */
export async function swarmMigrate({ ssh }, release) {
  const result = await ssh.remote(
    `
    load_env
    if ! docker service inspect "\${PROJECT}_db" >/dev/null 2>&1; then echo 'no database yet: migrating after the stack starts'; exit 10; fi
    # The db task on this manager, once it accepts connections (a first deploy has just started it).
    for i in $(seq 1 120); do
      db=$(docker ps --quiet --filter "label=com.docker.swarm.service.name=\${PROJECT}_db" | head -n 1)
      # Over TCP, as the healthcheck asks: the first start's setup server listens on the socket only.
      [ -n "$db" ] && docker exec "$db" pg_isready --quiet --host=127.0.0.1 && break
      db=''
      sleep 0.5
    done
    [ -n "$db" ] || { echo 'the db task did not accept connections within 60 s' >&2; exit 1; }
    # The names from .env, not the task's: a task started by a rollback to an older stack file may lack them.
    ${setRoles(`docker exec -i -e "POSTGRES_USER=\${DATABASE_ADMIN_USER:-bakehouse}" -e "DATABASE_APP_USER=\${DATABASE_APP_USER:-bakehouse_app}" "$db"`)}
    name="\${PROJECT}_migrate"
    docker service rm "$name" >/dev/null 2>&1 || true
    # Any node may run the job: it pulls the image with the manager's registry login.
    docker service create --quiet --detach --name "$name" --mode replicated-job --restart-condition none --endpoint-mode dnsrr \\
      --with-registry-auth \\
      --network "\${PROJECT}_backend" --secret "source=\${PROJECT}_db_password,target=db_password" \\
      --env DATABASE_HOST=db --env DATABASE_PORT=5432 --env "DATABASE_USER=\${DATABASE_APP_USER:-bakehouse_app}" \\
      --env "DATABASE_NAME=\${DATABASE_NAME:-bakehouse}" --env DATABASE_PASSWORD_FILE=/run/secrets/db_password \\
      --env NODE_ENV=production --read-only --cap-drop ALL --limit-memory 256M --limit-cpu 1 \\
      --mount type=tmpfs,destination=/tmp "$IMAGE" migrate.js >/dev/null
    for i in $(seq 1 240); do
      state=$(docker service ps --format '{{.CurrentState}}' "$name" | head -n 1)
      case "$state" in Complete*) break ;; Failed*|Rejected*) break ;; esac
      sleep 0.5
    done
    docker service logs --raw "$name" 2>&1 | tail -n 5
    docker service rm "$name" >/dev/null
    case "$state" in
      Complete*) exit 0 ;;
      Starting*|Assigned*|Preparing*) echo "migrate job: still $state after 2 min (on another node, a kernel without IPsec ESP for the encrypted overlays cannot start it, see DEPLOY_OVERLAY_ENCRYPTION)" >&2; exit 1 ;;
      *) echo "migrate job: $state" >&2; exit 1 ;;
    esac
  `,
    { release, nothrow: true },
  )
  for (const line of result.stdout.trim().split('\n').filter(Boolean)) info(line)
  if (result.exitCode === 10) return { skipped: true }
  if (result.exitCode !== 0)
    return {
      error: `migrations failed with ${release.image}: ${problems(result.stderr)}; the old release keeps serving`,
    }
  return {}
}
