#!/usr/bin/env zx
// Deploys the prod image to a server over SSH: build, ship, back up, migrate, switch traffic without downtime, verify.
// Everything runs through `ssh` and `docker` on the server; secrets stay in the server's env file.
import { $, chalk, fs, os, path } from 'zx'
import { prune, readState, record, recordFailure } from './deploy/history.mjs'
import { createLock } from './deploy/lock.mjs'
import { createSteps, fail, info, seconds } from './deploy/output.mjs'
import { settingsFrom } from './deploy/settings.mjs'
import { createSsh, sq } from './deploy/ssh.mjs'
import { stackFile } from './deploy/stack.mjs'
import { scriptArgs } from './lib/args.mjs'

const HELP = `Usage: zx scripts/deploy.mjs [--host user@server] [options]

Deploys the current commit: preflight → lock → bake → ship → upload → backup → migrate →
cutover (new container beside the old, gate on /health/ready, switch the proxy, drain the old) →
verify (scripts/health.mjs) → record → prune. Any failure after shipping keeps the old release serving.

Actions (default: deploy):
  --rollback [RELEASE]   return to the previous release (or the one named), the same zero-downtime way
  --status               current release, containers, lock, recent history and backups
  --logs                 recent logs of the api and the proxy (--follow to stream, --lines N)
  --unlock               remove the deploy lock (after a deploy died); prints who held it
  --dry-run              print the plan and change nothing

Options:
  --host HOST            SSH destination (DEPLOY_HOST); a Host alias from your ssh config works
  --mode compose|swarm   one machine behind the proxy, or docker stack deploy on a swarm (DEPLOY_MODE)
  --allow-dirty          deploy uncommitted changes (the release is then <sha>-dirty)
  --verbose              print every command (local and over SSH) and its output
  --help                 this text

Settings: deploy/config.mjs, overridden by DEPLOY_* variables (see that file).
Docs: docs/deploy.md`

const args = scriptArgs(import.meta.filename, {
  boolean: ['dry-run', 'status', 'logs', 'follow', 'unlock', 'allow-dirty', 'verbose', 'help'],
  string: ['host', 'mode', 'rollback', 'lines'],
  unknown: (arg) => {
    if (arg.startsWith('-')) fail(`unknown option ${arg}`, 'see --help', 2)
    return true
  },
})

if (args.help) {
  console.log(HELP)
  process.exit(0)
}
if (args._.length) fail(`unexpected argument ${args._[0]}`, 'options start with --; see --help', 2)

const root = path.join(import.meta.dirname, '..')
let settings
try {
  settings = settingsFrom((await import(path.join(root, 'deploy/config.mjs'))).default, process.env, args)
} catch (error) {
  fail(error.message, 'fix deploy/config.mjs or the DEPLOY_* variable it names', 2)
}
const { host, dir, mode } = settings

// Steps print their own summary; --verbose shows every command as it runs.
$.verbose = args.verbose
$.quiet = !args.verbose
$.cwd = root
// A failed command throws with its stderr; messages below say which step failed.

const action = args.status
  ? 'status'
  : args.logs
    ? 'logs'
    : args.unlock
      ? 'unlock'
      : args.rollback !== undefined
        ? 'rollback'
        : 'deploy'

// What every step may use, passed explicitly to the files of scripts/deploy/.
const who = `${os.userInfo().username}@${os.hostname()}`
const ssh = createSsh(settings)
const lock = createLock({ settings, ssh, who })
const steps = createSteps(() => lock.refresh())
const ctx = { root, args, action, settings, who, ssh, lock, steps }
const { remote, remoteLive } = ssh
const { step, figures } = steps

// However the script ends (a failed step exits at once): give the lock back, close the shared connection.
process.on('exit', () => {
  lock.releaseSync()
  ssh.closeSync()
})

// ---------------------------------------------------------------------------------------------------------------
// Steps

async function preflight() {
  if (!host)
    fail(
      'no server configured',
      'pass --host user@server or set DEPLOY_HOST (or host in deploy/config.mjs)',
      2,
    )
  const status = (await $`git status --porcelain`).stdout.trim()
  if (status && !args['allow-dirty'] && action === 'deploy')
    fail(`the work tree has uncommitted changes:\n${status}`, 'commit or stash them, or pass --allow-dirty')
  // The network may blink: three tries, 1 s then 2 s apart, before giving up.
  let reach
  for (let attempt = 1, delay = 1000; ; attempt++, delay *= 2) {
    reach = await ssh.reach()
    if (reach.exitCode === 0 || attempt === 3) break
    info(`ssh ${host}: ${reach.stderr.trim() || `exit ${reach.exitCode}`}; retrying in ${delay / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
  if (reach.exitCode !== 0)
    fail(
      `cannot reach ${host} over SSH: ${reach.stderr.trim()}`,
      'check the host, your key (ssh-add -l) and DEPLOY_SSH_CONFIG',
    )
  const out = await remote(
    `
    docker version --format 'docker={{.Server.Version}}' || { echo 'docker=missing'; exit 0; }
    printf 'compose=%s\\n' "$(docker compose version --short 2>/dev/null || echo missing)"
    docker info --format 'arch={{.Architecture}}
swarm={{.Swarm.LocalNodeState}}
manager={{.Swarm.ControlAvailable}}
nodes={{.Swarm.Nodes}}'
    printf 'free_kb=%s\\n' "$(df -Pk "$DIR" | awk 'NR==2 {print $4}')"
  `,
    { nothrow: false },
  ).catch((error) =>
    fail(
      `checking docker on ${host}: ${error.stderr ?? error.message}`,
      'install Docker and let the SSH user run it (docker group)',
    ),
  )
  const facts = Object.fromEntries(out.split('\n').map((line) => line.split('=')))
  if (!facts.docker || facts.docker === 'missing')
    fail(
      `docker does not answer on ${host}`,
      'install Docker Engine and add the SSH user to the docker group',
    )
  if (facts.compose === 'missing')
    fail(`docker compose v2 is missing on ${host}`, 'install the docker-compose-plugin package')
  const freeMb = Math.round(Number(facts.free_kb) / 1024)
  if (freeMb < settings.minFreeMb)
    fail(
      `${freeMb} MB free in ${dir} on ${host}, need ${settings.minFreeMb} MB`,
      'free some space (docker system df) or lower DEPLOY_MIN_FREE_MB',
    )
  if (mode === 'swarm') {
    if (facts.swarm !== 'active' || facts.manager !== 'true')
      fail(
        `${host} is not a swarm manager (state ${facts.swarm})`,
        'run `docker swarm init` there, or deploy with --mode compose',
      )
    if (Number(facts.nodes) > 1 && !settings.registry)
      fail(
        `the swarm has ${facts.nodes} nodes and no registry is set`,
        'set DEPLOY_REGISTRY so every node can pull the image',
      )
  }
  const platform = `linux/${{ x86_64: 'amd64', aarch64: 'arm64' }[facts.arch] ?? facts.arch}`
  info(
    `${host}: docker ${facts.docker}, compose ${facts.compose}, ${platform}, ${freeMb} MB free, swarm ${facts.swarm}`,
  )
  return { platform }
}

async function gitRelease() {
  const sha = (await $`git rev-parse --short HEAD`).stdout.trim()
  const dirty = (await $`git status --porcelain`).stdout.trim() !== ''
  const id = dirty ? `${sha}-dirty` : sha
  const repo = settings.registry ? `${settings.registry}/${settings.image}` : settings.image
  return { id, image: `${repo}:${id}` }
}

async function bake(release, platform) {
  // To a registry: the release target, prod plus SBOM and provenance, which only a pushing builder can attach.
  const [target, output] = settings.registry ? ['release', '--push'] : ['prod', '--load']
  const env = {
    ...process.env,
    GIT_SHA: release.id,
    IMAGE: settings.image,
    REGISTRY: settings.registry,
    CREATED: new Date().toISOString(),
  }
  const build = await $({
    env,
    nothrow: true,
  })`docker buildx bake ${output} --set ${target}.platform=${platform} ${target}`
  if (build.exitCode !== 0)
    fail(
      `docker buildx bake ${target} failed:\n${build.stderr.split('\n').slice(-25).join('\n')}`,
      settings.registry && /Attestation is not supported/.test(build.stderr)
        ? 'pushing with attestations needs a docker-container builder: `docker buildx create --use`, then deploy again'
        : `fix the build locally (\`docker buildx bake ${target}\`), commit, deploy again`,
    )
  const size = (await $`docker image inspect --format {{.Size}} ${release.image}`.nothrow()).stdout.trim()
  if (size) info(`${release.image}: ${(Number(size) / 1e6).toFixed(1)} MB`)
}

async function ship(release) {
  if (settings.registry) {
    // bake already pushed; the server pulls with its own registry login.
    await remote(`docker pull --quiet ${sq(release.image)}`).catch((error) =>
      fail(
        `the server could not pull ${release.image}: ${error.stderr}`,
        `run \`docker login ${settings.registry.split('/')[0]}\` on the server`,
      ),
    )
    return
  }
  const load = `sh -c ${sq('gunzip | docker load')}`
  const sent = await $({
    nothrow: true,
  })`docker save ${release.image} | gzip -1 | ssh ${ssh.args} ${host} ${load}`
  if (sent.exitCode !== 0)
    fail(
      `shipping ${release.image} failed: ${sent.stderr.trim()}`,
      'check disk space and docker on the server, then deploy again',
    )
  info(sent.stdout.trim())
}

async function upload(release) {
  const files = ['compose.prod.yaml', 'deploy/nginx.conf', 'deploy/upstream/api.conf']
  for (const file of files)
    if (!fs.existsSync(path.join(root, file))) fail(`${file} is missing`, 'restore it from git')
  const contents = Object.fromEntries(
    files.map((file) => [file, fs.readFileSync(path.join(root, file), 'utf8')]),
  )
  if (mode === 'swarm') contents['stack.yaml'] = stackFile(contents['compose.prod.yaml'], { dir })
  // Each file travels base64-encoded inside the script, so no quoting can change it.
  const writes = Object.entries(contents)
    .map(([file, text]) => {
      const target = `releases/$REL/${file}`
      return `mkdir -p "$(dirname "${target}")" && printf '%s' ${sq(Buffer.from(text).toString('base64'))} | base64 -d > "${target}"`
    })
    .join('\n')
  await remote(
    `
    ${writes}
    printf '%s\\n' "$IMAGE" > "releases/$REL/image"
    # First deploy: a proxy upstream and the server's own settings and secret, generated here and never uploaded.
    mkdir -p deploy/upstream backups
    [ -f deploy/upstream/api.conf ] || cp "releases/$REL/deploy/upstream/api.conf" deploy/upstream/api.conf
    [ -f deploy/nginx.conf ] || cp "releases/$REL/deploy/nginx.conf" deploy/nginx.conf
    ${
      mode === 'swarm'
        ? `# Swarm: the proxy follows the api service by name, and takes this release's config (in place: a bind mount).
    cp "releases/$REL/deploy/upstream/api.conf" deploy/upstream/api.conf.next && mv -f deploy/upstream/api.conf.next deploy/upstream/api.conf
    cat "releases/$REL/deploy/nginx.conf" > deploy/nginx.conf`
        : ''
    }
    if [ ! -f secrets/db_password ]; then
      mkdir -p secrets && chmod 0700 secrets
      head -c 32 /dev/urandom | base64 | tr -d '\\n/+=' > secrets/db_password
      # Read by postgres (uid 999) and the api (uid 65532) through a bind mount; the directory keeps others out.
      chmod 0644 secrets/db_password
      echo 'created secrets/db_password'
    fi
    if [ ! -f .env ]; then
      cat > .env <<EOF
# bakehouse server settings, created by the first deploy; edit here, never in git. Secrets may go here too.
DATABASE_PASSWORD_FILE=$DIR/secrets/db_password
PROXY_BIND=${settings.proxyBind}
PROXY_PORT=${settings.proxyPort}
LOG_LEVEL=info
EOF
      chmod 0600 .env
      echo 'created .env'
    fi
  `,
    { release },
  ).then((out) => out && info(out.replaceAll('\n', ', ')))
  info(`releases/${release.id}/: ${Object.keys(contents).join(', ')}`)
}

/** Shell that dumps the database through `dbExec` (custom format), keeps the newest backups, prints "file bytes". */
const dumpAndPrune = (dbExec) => `
    file="backups/$(date -u +%Y%m%dT%H%M%SZ)-$REL.dump"
    ${dbExec} sh -c 'pg_dump --format=custom --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"' < /dev/null > "$file.part"
    mv "$file.part" "$file"
    ls -1 backups/*.dump | sort -r | tail -n +${settings.keepBackups + 1} | while read -r old; do rm -f "$old"; done
    printf '%s %s\\n' "$file" "$(wc -c < "$file")"
`

/** Runs a backup script on the server; "none" means there is no database yet. Returns the file, if any. */
async function runBackup(release, script, todo) {
  const out = await remote(script, { release }).catch((error) =>
    fail(`backup failed, nothing was changed: ${error.stderr}`, todo),
  )
  const last = out.split('\n').pop()
  if (last === 'none') return info('no database yet (first deploy): nothing to back up')
  const [file, bytes] = last.split(' ')
  info(`${dir}/${file} (${(Number(bytes) / 1024).toFixed(1)} KiB)`)
  return file
}

function backup(release) {
  return runBackup(
    release,
    `
    compose up --detach --wait --no-deps db >/dev/null 2>&1 || { compose up --detach --wait --no-deps db; exit 1; }
    ${dumpAndPrune('compose exec -T db')}`,
    'check the db container (`--logs`, `--status`) and disk space, then deploy again',
  )
}

async function migrate(release) {
  const result = await remote('compose run --rm -T migrate < /dev/null', {
    release,
    nothrow: true,
  })
  const lines = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((line) => line.includes('"msg"') || line.includes('migration'))
  if (result.exitCode !== 0) {
    console.error(`${result.stdout}\n${result.stderr}`)
    return `migrations failed with ${release.image} (the migrator runs them in one transaction, so none were applied); the old release keeps serving`
  }
  for (const line of lines.slice(-3)) info(line.trim())
}

// ---------------------------------------------------------------------------------------------------------------
// Cutover (compose mode): the proxy sends traffic to whichever container deploy/upstream/api.conf names.

async function apiContainers(release) {
  const out = await remote(
    `ps_service api
     printf 'live %s\\n' "$(sed -n 's/^set \\$api \\([^:]*\\):3000;.*/\\1/p' deploy/upstream/api.conf 2>/dev/null)"`,
    { release },
  )
  const containers = []
  let live = ''
  for (const line of out.split('\n').filter(Boolean)) {
    const [a, b, c] = line.split(' ')
    if (a === 'live') live = b ?? ''
    else containers.push({ id: a, name: b, state: c })
  }
  return { containers, live }
}

/** Waits until the container answers /health/ready from inside, failing fast if it crashes. */
async function gate(container, release) {
  const deadline = performance.now() + settings.readyTimeout * 1000
  const check = `const r = await fetch('http://127.0.0.1:3000/health/ready').catch(() => null); process.exit(r?.ok ? 0 : 1)`
  let last = ''
  for (;;) {
    const out = await remote(
      `state=$(docker inspect --format '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}' ${container.id})
       if docker exec ${container.id} /usr/local/bin/bun -e ${sq(check)} >/dev/null 2>&1; then echo "ready $state"; else echo "waiting $state"; fi`,
      { release, nothrow: true },
    )
    const [verdict, status, restarts, exitCode] = out.stdout.trim().split(' ')
    if (verdict === 'ready') return undefined
    if (status === 'exited' || status === 'dead') return `the new container exited with code ${exitCode}`
    if (status === 'restarting' || Number(restarts) > 0)
      return `the new container crashed and was restarted ${restarts} time(s) (crash loop)`
    if (status !== last) info(`${container.name}: ${status}, not ready yet`)
    last = status
    if (performance.now() > deadline)
      return `the new container was not ready within ${settings.readyTimeout} s (state ${status})`
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** Points the proxy at `name` and waits until the proxy serves `release` through it. */
async function switchTo(name, release) {
  const out = await remote(
    `
    printf '# release %s, switched by ${who} at %s\\nset $api %s:3000;\\n' "$REL" "$(date -u +%FT%TZ)" ${sq(name)} > deploy/upstream/api.conf.next
    cp "releases/$REL/deploy/nginx.conf" deploy/nginx.conf.next
    mv -f deploy/upstream/api.conf.next deploy/upstream/api.conf
    # In place (same inode), so the running proxy's single-file bind mount sees the new text.
    cat deploy/nginx.conf.next > deploy/nginx.conf && rm -f deploy/nginx.conf.next
    compose --profile proxy up --detach --wait --no-deps proxy 2>&1 | tail -n 3 >&2
    proxy=$(ps_service proxy | awk '$3 == "running" {print $1}')
    docker exec "$proxy" nginx -t -q
    # SIGHUP: new workers take the new upstream; old workers finish their requests, then exit.
    docker kill --signal HUP "$proxy" >/dev/null
    for i in $(seq 1 40); do
      served=$(docker exec "$proxy" curl --silent --max-time 2 http://127.0.0.1:8080/health/live || true)
      case "$served" in *"\\"release\\":\\"$REL\\""*) echo "$proxy"; exit 0 ;; esac
      sleep 0.25
    done
    echo "proxy still serves: $served" >&2
    exit 1
  `,
    { release, nothrow: true },
  )
  if (out.exitCode !== 0) return `switching the proxy to ${name} failed: ${out.stderr.trim()}`
}

async function removeContainers(containers, { grace = 15, logs = false } = {}) {
  if (containers.length === 0) return
  const ids = containers.map((c) => c.id).join(' ')
  if (logs) {
    const out = await remote(`for id in ${ids}; do docker logs --tail 40 "$id" 2>&1; done`, { nothrow: true })
    console.error(
      chalk.dim(`---- logs of ${containers.map((c) => c.name).join(', ')} ----\n${out.stdout.trim()}\n----`),
    )
  }
  // docker stop sends SIGTERM: the api stops accepting, drains in-flight requests, closes its pool, exits 0.
  await remote(`docker stop --time ${grace} ${ids} >/dev/null; docker rm ${ids} >/dev/null`, {
    nothrow: true,
  })
}

/** New container beside the old, gate, switch, verify, drain. Returns an error message, or undefined. */
async function cutover(release) {
  const { containers, live } = await apiContainers(release)
  const serving = containers.filter((c) => c.name === live && c.state === 'running')
  // Anything else (a crashed earlier attempt, an api started by hand) receives no traffic: clear it first.
  const stray = containers.filter((c) => !serving.includes(c))
  if (stray.length) {
    info(`removing ${stray.length} container(s) not behind the proxy: ${stray.map((c) => c.name).join(', ')}`)
    await removeContainers(stray, { grace: 5 })
  }
  const old = serving[0]
  const up = await remote(
    `compose up --detach --no-deps --no-recreate --scale api=${serving.length + 1} api 2>&1`,
    {
      release,
      nothrow: true,
    },
  )
  const after = await apiContainers(release)
  const fresh = after.containers.filter((c) => !containers.some((o) => o.id === c.id))
  if (up.exitCode !== 0 || fresh.length !== 1) {
    await removeContainers(fresh, { logs: true, grace: 2 })
    return `starting the new api container failed: ${up.stdout.trim()}`
  }
  const [next] = fresh
  const gateStart = performance.now()
  info(
    `started ${next.name} (${release.image}) beside ${old ? old.name : 'nothing (first release)'}; gate: ready within ${settings.readyTimeout} s`,
  )
  const notReady = await gate(next, release)
  figures.gate = Number(seconds(gateStart))
  if (notReady) {
    await removeContainers([next], { logs: true, grace: 2 })
    return `${notReady}; it was removed and ${old ? `${old.name} keeps serving` : 'nothing was serving yet'}`
  }
  info(`${next.name} ready in ${figures.gate} s`)
  const switchStart = performance.now()
  const switchError = await switchTo(next.name, release)
  if (switchError) {
    if (old) await switchTo(old.name, { ...release, id: await oldRelease() })
    await removeContainers([next], { logs: true, grace: 2 })
    return switchError
  }
  info(`proxy switched to ${next.name} in ${seconds(switchStart)} s`)
  const verifyError = await verify(release)
  if (verifyError) {
    if (old) {
      const back = await switchTo(old.name, { ...release, id: await oldRelease() })
      info(back ? chalk.red(back) : `switched back to ${old.name}`)
    }
    await removeContainers([next], { logs: true, grace: 10 })
    return verifyError
  }
  if (old) {
    const drainStart = performance.now()
    await removeContainers([old])
    info(`drained and removed ${old.name} in ${seconds(drainStart)} s`)
  }
}

/** The release the server currently records as live (for switching back). */
async function oldRelease() {
  return (await remote('cat current 2>/dev/null || true')).trim()
}

async function verify(release) {
  if (!settings.healthUrl) {
    info('no DEPLOY_HEALTH_URL: skipped the outside check (the proxy already served the release)')
    return undefined
  }
  const health = path.join(root, 'scripts/health.mjs')
  const result = await $({
    nothrow: true,
  })`${process.execPath} ${health} --wait --deadline ${settings.verifyTimeout} --expect-release ${release.id} ${settings.healthUrl}`
  for (const line of result.stdout.trim().split('\n')) info(line)
  if (result.exitCode !== 0)
    return `${settings.healthUrl} did not serve ${release.id} healthily: ${result.stderr.trim()}`
}

/** stderr without swarm's warning about locally loaded images, which is expected without a registry. */
function problems(stderr) {
  return stderr
    .replace(/image \S+ could not be accessed on a registry[\s\S]*?versions of the image\.\n?/g, '')
    .trim()
}

// ---------------------------------------------------------------------------------------------------------------
// Swarm mode: docker stack deploy of the same file; swarm does the start-first rolling update and its rollback.

async function swarmMigrate(release) {
  // A one-off job on the stack's internal network, with the stack's secret: the swarm form of `compose run migrate`.
  const result = await remote(
    `
    set -a; . ./.env; set +a
    if ! docker service inspect "\${PROJECT}_db" >/dev/null 2>&1; then echo 'no database yet: migrating after the stack starts'; exit 10; fi
    name="\${PROJECT}_migrate"
    docker service rm "$name" >/dev/null 2>&1 || true
    docker service create --quiet --detach --name "$name" --mode replicated-job --restart-condition none --endpoint-mode dnsrr \\
      --network "\${PROJECT}_backend" --secret "source=\${PROJECT}_db_password,target=db_password" \\
      --env DATABASE_HOST=db --env DATABASE_PORT=5432 --env "DATABASE_USER=\${DATABASE_USER:-bakehouse}" \\
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
    case "$state" in Complete*) exit 0 ;; *) echo "migrate job: $state" >&2; exit 1 ;; esac
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

function swarmBackup(release) {
  return runBackup(
    release,
    `
    db=$(docker ps --quiet --filter "label=com.docker.swarm.service.name=\${PROJECT}_db" | head -n 1)
    [ -n "$db" ] || { echo 'none'; exit 0; }
    ${dumpAndPrune('docker exec "$db"')}`,
    'check the db service (`docker service ps`), then deploy again',
  )
}

/** docker stack deploy, then waits for the api update; `replicas: 0` brings up everything but the api. */
async function swarmDeploy(release, { replicas } = {}) {
  const result = await remote(
    `
    set -a; . ./.env; set +a
    # Two api replicas by default, so a node or a task can go without downtime; SWARM_REPLICAS in .env changes it.
    API_REPLICAS=\${SWARM_REPLICAS:-2}${replicas === undefined ? '' : `; API_REPLICAS=${replicas}`}
    export IMAGE RELEASE API_REPLICAS
    docker stack deploy --detach=true --prune ${settings.registry ? '--with-registry-auth' : '--resolve-image never'} --compose-file "releases/$REL/stack.yaml" "$PROJECT" 2>&1 | grep -v '^Ignoring' || true
    service="\${PROJECT}_api"
    # Wait for the rolling update (or swarm's own rollback) to finish.
    for i in $(seq 1 ${Math.ceil((settings.readyTimeout + 60) * 2)}); do
      state=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{else}}none{{end}}' "$service")
      image=$(docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$service")
      case "$state" in
        completed|none)
          running=$(docker service ls --filter "name=$service" --format '{{.Replicas}}')
          case "$running" in "$API_REPLICAS/$API_REPLICAS"*) echo "api: $state, $running replicas of $image"; exit 0 ;; esac ;;
        rollback_completed) echo "swarm rolled back: $(docker service inspect --format '{{.UpdateStatus.Message}}' "$service")" >&2; exit 3 ;;
        paused|rollback_paused) echo "update $state: $(docker service inspect --format '{{.UpdateStatus.Message}}' "$service")" >&2; exit 4 ;;
      esac
      sleep 0.5
    done
    echo "the update did not finish: state $state" >&2
    exit 5
  `,
    { release, nothrow: true },
  )
  for (const line of result.stdout.trim().split('\n').filter(Boolean)) info(line)
  if (result.exitCode === 0) {
    // The proxy re-reads a changed config; its name lookups already follow the new tasks.
    await remote(
      `docker ps --quiet --filter "label=com.docker.swarm.service.name=\${PROJECT}_proxy" | xargs -r docker kill --signal HUP >/dev/null`,
      { nothrow: true },
    )
    return undefined
  }
  // The tasks, then the logs of the newest failed one: why the new release did not come up.
  const logs = await remote(
    `service="\${PROJECT}_api"
     docker service ps --no-trunc --format '{{.Name}} {{.Image}} {{.CurrentState}} {{.Error}}' "$service" | head -n 6
     task=$(docker service ps --no-trunc --filter desired-state=shutdown --format '{{.ID}} {{.CurrentState}}' "$service" | awk '$2 == "Failed" {print $1; exit}')
     [ -z "$task" ] || { echo "---- logs of failed task $task ----"; docker service logs --raw --tail 20 "$task" 2>&1; }`,
    { nothrow: true },
  )
  console.error(chalk.dim(logs.stdout.trim()))
  return problems(result.stderr) || `docker stack deploy failed (exit ${result.exitCode})`
}

// ---------------------------------------------------------------------------------------------------------------
// Actions

async function deploy() {
  const release = await gitRelease()
  const plan = {
    preflight: `git tree, ssh ${host}, docker and compose, disk, ${mode} mode`,
    lock: `${dir}/deploy.lock`,
    bake: `docker buildx bake ${settings.registry ? 'release' : 'prod'} → ${release.image}`,
    ship: settings.registry
      ? `push ${release.image}, pull on the server`
      : 'docker save | gzip | ssh … docker load',
    upload: `compose.prod.yaml, deploy/nginx.conf → ${dir}/releases/${release.id}/`,
    backup: `pg_dump --format=custom → ${dir}/backups/, keep ${settings.keepBackups}`,
    migrate: `${release.image} migrate.js, under the migrator's advisory lock`,
    ...(mode === 'swarm'
      ? {
          'rolling update': 'docker stack deploy: start-first, swarm rolls back a failing update',
          verify: verifyPlan(),
        }
      : {
          cutover: `new api beside the old, ready within ${settings.readyTimeout} s, switch the proxy, verify (${verifyPlan()}), drain the old`,
        }),
    record: `${dir}/history.tsv, ${dir}/current`,
    prune: `keep ${settings.keepReleases} releases and their images`,
  }
  steps.expect(Object.keys(plan).length)
  if (args['dry-run']) return printPlan(`deploy ${release.id} to ${host}:${dir} (${mode})`, plan)

  const { platform } = await step('preflight', plan.preflight, preflight)
  await step('lock', plan.lock, () => lock.acquire(`deploy ${release.id}`))
  await step('bake', plan.bake, () => bake(release, platform))
  await step('ship', plan.ship, () => ship(release))
  await step('upload', plan.upload, () => upload(release))
  if (mode === 'swarm') {
    await step('backup', plan.backup, () => swarmBackup(release))
    const migrated = await step('migrate', plan.migrate, async () => {
      const first = await swarmMigrate(release)
      if (!first.skipped) return first
      // First deploy: no database yet. The stack comes up without api tasks, then migrations run, so the api's
      // healthcheck (ready once, then live) can pass and the rolling update below can complete.
      info('first deploy: starting the stack without api tasks, then migrating')
      const stackError = await swarmDeploy(release, { replicas: 0 })
      return stackError ? { error: stackError } : swarmMigrate(release)
    })
    if (migrated.error) return abort(migrated.error, release)
    const updateError = await step('rolling update', plan['rolling update'], () => swarmDeploy(release))
    if (updateError) return abort(`${updateError}; the previous release keeps serving`, release)
    const verifyError = await step('verify', plan.verify, () => verify(release))
    if (verifyError) {
      await remote(`docker service rollback --quiet "$PROJECT"_api >/dev/null`, { nothrow: true })
      return abort(`${verifyError}; asked swarm to roll the api back to the previous release`, release)
    }
  } else {
    await step('backup', plan.backup, () => backup(release))
    const migrateError = await step('migrate', plan.migrate, () => migrate(release))
    if (migrateError) return abort(migrateError, release)
    const cutoverError = await step('cutover', plan.cutover, () => cutover(release))
    if (cutoverError) return abort(cutoverError, release)
  }
  await step('record', plan.record, () => record(ctx, 'deploy', release))
  await step('prune', plan.prune, () => prune(ctx))
  await done(`deployed ${release.id}`)
}

function verifyPlan() {
  return settings.healthUrl
    ? `scripts/health.mjs --wait ${settings.healthUrl}`
    : 'no DEPLOY_HEALTH_URL: proxy check only'
}

async function rollback() {
  steps.expect(5)
  if (args['dry-run'])
    return printPlan(`roll back on ${host}:${dir}`, {
      preflight: `ssh ${host}, docker`,
      lock: `${dir}/deploy.lock`,
      choose: args.rollback || 'the release before the current one (history.tsv)',
      [mode === 'swarm' ? 'rolling update' : 'cutover']:
        'its image and compose file, gate, switch, drain (no migrations)',
      record: `${dir}/history.tsv`,
    })
  await step('preflight', `ssh ${host}`, preflight)
  await step('lock', `${dir}/deploy.lock`, () => lock.acquire(`rollback to ${args.rollback || 'previous'}`))
  const release = await step('choose', args.rollback || 'previous release', async () => {
    const state = await readState(ctx)
    const deployed = state.history
      .filter((h) => h.action === 'deploy' || h.action === 'rollback')
      .map((h) => h.id)
    const target = args.rollback || [...deployed].reverse().find((id) => id !== state.current)
    if (!target)
      return abortNow(`no earlier release recorded in ${dir}/history.tsv`, 'name one: --rollback <sha>')
    if (target === state.current) return abortNow(`${target} is already live`, '--status shows the history')
    const image = state.releases.get(target)
    if (!image)
      return abortNow(
        `release ${target} is not on the server (pruned or never deployed); kept: ${[...state.releases.keys()].join(', ')}`,
        `deploy that commit instead: git checkout ${target} && zx scripts/deploy.mjs`,
      )
    const present = await remote(`docker image inspect ${sq(image)} >/dev/null 2>&1 && echo yes || echo no`)
    if (present !== 'yes')
      return abortNow(
        `the image ${image} is gone from the server`,
        `deploy that commit again: git checkout ${target} && zx scripts/deploy.mjs`,
      )
    info(`${state.current || 'nothing'} → ${target} (${image}); migrations are not undone`)
    return { id: target, image }
  })
  const error =
    mode === 'swarm'
      ? await step('rolling update', 'docker stack deploy', () => swarmDeploy(release))
      : await step('cutover', `to ${release.id}`, () => cutover(release))
  if (error) return abort(error, release)
  await step('record', `${dir}/history.tsv`, () => record(ctx, 'rollback', release))
  done(`rolled back to ${release.id}`)
}

function printPlan(title, plan) {
  console.log(chalk.bold(`plan (dry run): ${title}`))
  for (const [index, [name, detail]] of Object.entries(plan).entries())
    console.log(`  ${index + 1}. ${name.padEnd(14)} ${detail}`)
  console.log('nothing was changed; run again without --dry-run to do it')
}

async function abortNow(problem, todo) {
  await lock.release()
  await ssh.close()
  fail(problem, todo)
}

/** After shipping: the old release keeps serving; record the failure, release the lock, exit non-zero. */
async function abort(problem, release) {
  await recordFailure(ctx, release)
  await lock.release()
  await ssh.close()
  console.error(chalk.dim(`timings (s): ${JSON.stringify(figures)}`))
  fail(
    `${action} of ${release.id} stopped after ${steps.elapsed()} s: ${problem}`,
    'read the logs above, fix the release and deploy again; `--status` shows what is live, `--rollback` goes further back',
  )
}

async function done(message) {
  await lock.release()
  await ssh.close()
  console.log(
    chalk.green(`${message} to ${host} in ${steps.elapsed()} s`) + chalk.dim(` (${JSON.stringify(figures)})`),
  )
}

async function status() {
  const out = await remote(`
    echo "current release: $(cat current 2>/dev/null || echo none)"
    if [ -d deploy.lock ]; then echo "lock: held by $(cat deploy.lock/holder 2>/dev/null)"; else echo 'lock: free'; fi
    echo; echo 'containers:'
    docker ps --all --filter "label=com.docker.stack.namespace=$PROJECT" --format '  {{.Names}}\t{{.Image}}\t{{.Status}}'
    docker ps --all --filter "label=com.docker.compose.project=$PROJECT" --format '  {{.Names}}\t{{.Image}}\t{{.Status}}'
    echo; echo 'history (time, action, release, image, by, duration):'
    tail -n 10 history.tsv 2>/dev/null | sed 's/^/  /' || echo '  none'
    echo; echo 'backups:'
    ls -1 backups/*.dump 2>/dev/null | sort -r | head -n 3 | sed 's/^/  /' || echo '  none'
  `)
  console.log(out)
}

async function logs() {
  const lines = Number(args.lines ?? 100)
  const follow = args.follow ? '--follow' : ''
  const script =
    mode === 'swarm'
      ? `docker service logs --tail ${lines} ${follow} "\${PROJECT}_api" & docker service logs --tail ${lines} ${follow} "\${PROJECT}_proxy"; wait`
      : `for id in $(ps_service api | awk '{print $1}') $(ps_service proxy | awk '{print $1}'); do
           echo "---- $(docker inspect --format '{{.Name}} {{.Config.Image}}' "$id")"
           docker logs --tail ${lines} --timestamps ${follow} "$id" 2>&1 ${follow ? '&' : ''}
         done; wait`
  await remoteLive(script)
}

// Ctrl-C mid-deploy: give the lock back; a half-started container is cleared by the next deploy.
process.on('SIGINT', async () => {
  await lock.release().catch(() => {})
  await ssh.close().catch(() => {})
  console.error('deploy: interrupted; the lock was released and the previous release keeps serving')
  process.exit(130)
})

try {
  if (action === 'deploy') await deploy()
  else if (action === 'rollback') await rollback()
  else {
    if (args['dry-run']) {
      console.log(`plan (dry run): ${action} on ${host}:${dir}; nothing would change`)
      process.exit(0)
    }
    await preflight()
    if (action === 'status') await status()
    if (action === 'logs') await logs()
    if (action === 'unlock') {
      const holder = await remote('cat deploy.lock/holder 2>/dev/null || true; rm -rf deploy.lock')
      console.log(holder ? `removed the lock held by ${holder}` : 'there was no lock')
    }
    await ssh.close()
  }
} catch (error) {
  await lock.release().catch(() => {})
  await ssh.close().catch(() => {})
  fail(
    `${action}: ${error.stderr?.trim() || error.message}`,
    'the previous release keeps serving; fix the cause and run again (`--status` shows the server)',
  )
}
