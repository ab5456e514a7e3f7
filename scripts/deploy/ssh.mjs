// The one SSH connection to the server, and the small POSIX sh scripts the deploy runs there through it.
import { spawnSync } from 'node:child_process'
import { $, fs, os, path } from 'zx'

/** POSIX single quoting, for values placed in remote shell scripts. */
export const sq = (value) => `'${String(value).replaceAll("'", `'\\''`)}'`

/** With a domain: the edge's HTTPS settings, from the deploy settings on every deploy (they win over `.env`). */
function httpsLines(settings) {
  if (!settings.domains?.length) return []
  return [
    `DOMAIN=${sq(settings.domains.join(' '))}`,
    `ACME_EMAIL=${sq(settings.acmeEmail)}`,
    `ACME_CA=${sq(settings.acmeCa)}`,
    // The CA root travels with the upload (deploy/acme-ca/ca.pem) and is mounted at this path.
    `ACME_CA_ROOT=${settings.acmeCaRoot ? '/etc/edge/acme-ca/ca.pem' : "''"}`,
    `PROXY_HTTPS_BIND=${sq(settings.proxyBind)}`,
    `PROXY_HTTPS_PORT=${sq(settings.proxyHttpsPort)}`,
    'export DOMAIN ACME_EMAIL ACME_CA ACME_CA_ROOT PROXY_HTTPS_BIND PROXY_HTTPS_PORT',
  ]
}

/**
 * The server's .env read as data, never as shell: each KEY=value line (an `export ` prefix allowed) is exported with
 * its value taken literally, less one pair of surrounding quotes; other lines are skipped. Nothing in it runs. As
 * compose does, a variable already set wins: `.env` cannot redirect the script's own IMAGE, PROJECT or DIR.
 */
const LOAD_ENV = [
  'load_env() {',
  '  [ -f .env ] || return 0',
  "  loaded=''",
  '  while IFS= read -r line || [ -n "$line" ]; do',
  `    line=\${line#export }`,
  '    case "$line" in *=*) ;; *) continue ;; esac',
  `    key=\${line%%=*} value=\${line#*=}`,
  // Names only: a key that is not a shell name is skipped rather than handed to export.
  '    case "$key" in "" | [0-9]* | *[!A-Za-z0-9_]*) continue ;; esac',
  // Set before .env was read: skipped (a checked shell name, so eval only asks whether it is set). A key repeated
  // in .env takes its last value, as compose's does.
  `    case " $loaded " in *" $key "*) ;; *) eval "[ -z \\"\\\${$key+set}\\" ]" || continue ;; esac`,
  `    case "$value" in '"'*'"' | "'"*"'") value=\${value#?}; value=\${value%?} ;; esac`,
  '    export "$key=$value"',
  '    loaded="$loaded $key"',
  '  done < .env',
  '}',
]

/** Variables and helpers every remote script starts with. */
function prelude(settings, release) {
  const { dir, project } = settings
  const lines = [
    'set -eu',
    // Everything the deploy creates is private to the deploy user; what a container's uid must read is chmod-ed.
    'umask 077',
    `DIR=${sq(dir)}`,
    `PROJECT=${sq(project)}`,
    'mkdir -p "$DIR" && cd "$DIR"',
    ...LOAD_ENV,
    // Filters for this project's containers, by the labels compose sets.
    'ps_service() { docker ps --all --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" --format "{{.ID}} {{.Names}} {{.State}}"; }',
  ]
  if (release) {
    lines.push(
      `REL=${sq(release.id)}`,
      `IMAGE=${sq(release.image)}`,
      // RELEASE is reported by /health/live; one api per `up`, the cutover adds the next beside it.
      'RELEASE="$REL" API_REPLICAS=1',
      // The edge image the last deploy shipped (upload writes it); the bake's default before any.
      'EDGE_IMAGE=$(cat edge-image 2>/dev/null || echo bakehouse-edge:latest)',
      'export IMAGE RELEASE API_REPLICAS EDGE_IMAGE',
      // Releases from before ADR 0026 name the api's login DATABASE_USER: a rollback to one logs in as the app's role.
      `export DATABASE_USER="\${DATABASE_APP_USER:-bakehouse_app}"`,
      ...httpsLines(settings),
      // The release's own compose file, with paths (the proxy's upstream directory) resolved against the stable server directory.
      'compose() { docker compose --project-name "$PROJECT" --project-directory "$DIR" --file "$DIR/releases/$REL/compose.prod.yaml" "$@"; }',
    )
  }
  return lines.join('\n')
}

/** An SSH client for `settings.host`, sharing one connection until `close`. */
export function createSsh(settings) {
  const { host } = settings
  const control = fs.mkdtempSync(path.join(os.tmpdir(), 'bakehouse-ssh-'))
  const args = [
    ...(settings.sshConfig ? ['-F', settings.sshConfig] : []),
    ...['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=15'],
    // One connection for the whole deploy: every remote command after the first starts in milliseconds.
    ...['-o', 'ControlMaster=auto', '-o', `ControlPath=${control}/%C`, '-o', 'ControlPersist=60'],
  ]
  const shell = (script, release) => `sh -c ${sq(`${prelude(settings, release)}\n${script}`)}`

  return {
    /** The ssh options, for commands that pipe into ssh themselves (`docker save | ssh …`). */
    args,

    /**
     * Runs a shell script on the server; returns stdout. Throws with the script's stderr unless `nothrow`.
     * @param {string} script
     * @param {{ release?: { id: string, image: string }, nothrow?: boolean }} [options]
     */
    async remote(script, { release, nothrow = false } = {}) {
      const result = await $({ nothrow })`ssh -n ${args} ${host} ${shell(script, release)}`
      return nothrow ? result : result.stdout.trim()
    },

    /** Like remote, but streams the output (logs, long commands). */
    remoteLive(script, { release } = {}) {
      return $({
        stdio: ['ignore', 'inherit', 'inherit'],
        nothrow: true,
      })`ssh ${args} ${host} ${shell(script, release)}`
    },

    /** Whether the server answers at all; the result of `ssh host true`. */
    reach: () => $({ nothrow: true })`ssh -n ${args} ${host} true`,

    /** A script, synchronously: for process exit, where nothing asynchronous runs any more. */
    remoteSync(script) {
      spawnSync('ssh', ['-n', ...args, host, shell(script)], { stdio: 'ignore' })
    },

    async close() {
      await $({ nothrow: true })`ssh ${args} -O exit ${host}`
      fs.rmSync(control, { recursive: true, force: true })
    },

    /** close, for process exit; does nothing once closed. */
    closeSync() {
      if (!fs.existsSync(control)) return
      spawnSync('ssh', [...args, '-O', 'exit', host], { stdio: 'ignore' })
      fs.rmSync(control, { recursive: true, force: true })
    },
  }
}
