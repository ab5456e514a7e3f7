// Compose mode's cutover: new api beside the old, gate on /health/ready, switch the proxy, verify, drain the old.
import { chalk } from 'zx'
import { info, seconds } from './output.mjs'
import { sq } from './ssh.mjs'
import { awaitCertificate, edgeProfiles, edgeServices } from './tls.mjs'
import { verify } from './verify.mjs'

// Between the switch and stopping the old api: far longer than reading the file and connecting takes.
const SETTLE_MS = 2000

/** The release's api containers, and the one the proxy sends traffic to (asked of the proxy; the file when it is down). */
async function apiContainers({ ssh }, release) {
  const out = await ssh.remote(
    `ps_service api
     proxy=$(ps_service proxy | awk '$3 == "running" {print $1; exit}')
     live=$([ -n "$proxy" ] && docker exec "$proxy" curl --silent --max-time 2 http://127.0.0.1:8081/upstream || cat deploy/upstream/live 2>/dev/null || true)
     printf 'live %s\\n' "\${live%:3000}"`,
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
async function gate({ settings, ssh }, container, release) {
  const deadline = performance.now() + settings.readyTimeout * 1000
  const check = `const r = await fetch('http://127.0.0.1:3000/health/ready').catch(() => null); process.exit(r?.ok ? 0 : 1)`
  let last = ''
  for (;;) {
    const out = await ssh.remote(
      `state=$(docker inspect --format '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}' ${sq(container.id)})
       if docker exec ${sq(container.id)} /usr/local/bin/bun -e ${sq(check)} >/dev/null 2>&1; then echo "ready $state"; else echo "waiting $state"; fi`,
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

/**
 * The remote script that points the proxy at `name` and waits until it serves `$REL` through it. The proxy reads
 * deploy/upstream/live on every request (deploy/edge/upstream.js), so the rename switches traffic without a reload:
 * no connection is closed. Staged, validated, switched: the proxy must reach `name` before the file moves, and a
 * script that fails, or is killed (a lost SSH connection hangs it up), after the move puts the previous file back.
 */
export function switchScript(settings, name) {
  return `
    live=deploy/upstream/live target=${sq(`${name}:3000`)}
    printf '%s\\n' "$target" > "$live.next"
    # Read by the edge (uid 101); created private under the scripts' umask.
    chmod 0644 "$live.next"
    cp -p "$live" "$live.previous" 2>/dev/null || rm -f "$live.previous"
    switched=0 served=0
    trap 'if [ "$switched" = 1 ] && [ "$served" = 0 ] && [ -f "$live.previous" ]; then mv -f "$live.previous" "$live"; fi; rm -f "$live.next" "$live.previous"' EXIT
    trap 'exit 1' HUP INT TERM
    # The edge's image and settings (EDGE_*, DOMAIN) tried in a throwaway container first: a bad one must not
    # replace a running proxy.
    if ! checked=$(compose ${edgeProfiles(settings)} run -T --rm --no-deps proxy check 2>&1); then
      echo "the edge refuses its settings, so the running proxy is kept: $checked" >&2
      exit 1
    fi
    ${settings.domains.length ? '' : '# No domain (any more): no certificate client.'}
    ${settings.domains.length ? '' : 'compose --profile https rm --stop --force acme >/dev/null 2>&1 || true'}
    # Starts the edge on the first deploy; recreates it only when its image or settings changed. Its output is
    # kept, not piped, so a failure stops here with compose's own words (sh has no pipefail).
    if ! started=$(compose ${edgeProfiles(settings)} up --detach --wait --no-deps ${edgeServices(settings)} 2>&1); then
      echo "the edge did not start: $(printf '%s\n' "$started" | tail -n 5)" >&2
      exit 1
    fi
    proxy=$(ps_service proxy | awk '$3 == "running" {print $1}')
    # Validate: the proxy itself reaches the new container, ready, by the name it is about to use.
    if ! docker exec "$proxy" curl --silent --fail --max-time 3 --output /dev/null ${sq(`http://${name}:3000/health/ready`)}; then
      echo "the proxy cannot reach $target (ready); traffic stays where it was" >&2
      exit 1
    fi
    mv -f "$live.next" "$live"
    switched=1
    for i in $(seq 1 40); do
      answer=$(docker exec "$proxy" curl --silent --max-time 2 http://127.0.0.1:8081/health/live || true)
      case "$answer" in *"\\"release\\":\\"$REL\\""*) served=1; echo "$proxy"; exit 0 ;; esac
      sleep 0.25
    done
    echo "proxy still serves: $answer" >&2
    exit 1
  `
}

/** Runs `switchScript` on the server; returns an error message, or undefined once the proxy serves `release`. */
async function switchTo({ settings, ssh }, name, release) {
  const out = await ssh.remote(switchScript(settings, name), { release, nothrow: true })
  if (out.exitCode !== 0) return `switching the proxy to ${name} failed: ${out.stderr.trim()}`
}

/** Stops (SIGTERM, then `grace` seconds) and removes containers, printing their logs first when asked. */
async function removeContainers({ ssh }, containers, { grace = 15, logs = false } = {}) {
  if (containers.length === 0) return
  const ids = containers.map((c) => sq(c.id)).join(' ')
  if (logs) {
    const out = await ssh.remote(`for id in ${ids}; do docker logs --tail 40 "$id" 2>&1; done`, {
      nothrow: true,
    })
    console.error(
      chalk.dim(`---- logs of ${containers.map((c) => c.name).join(', ')} ----\n${out.stdout.trim()}\n----`),
    )
  }
  // docker stop sends SIGTERM: the api stops accepting, drains in-flight requests, closes its pool, exits 0.
  await ssh.remote(`docker stop --time ${grace} ${ids} >/dev/null; docker rm ${ids} >/dev/null`, {
    nothrow: true,
  })
}

/** The release the server currently records as live (for switching back). */
async function oldRelease({ ssh }) {
  return (await ssh.remote('cat current 2>/dev/null || true')).trim()
}

/** New container beside the old, gate, switch, verify, drain. Returns an error message, or undefined. */
export async function cutover(ctx, release) {
  const { settings, ssh, steps } = ctx
  const { containers, live } = await apiContainers(ctx, release)
  const serving = containers.filter((c) => c.name === live && c.state === 'running')
  // Anything else (a crashed earlier attempt, an api started by hand) receives no traffic: clear it first.
  const stray = containers.filter((c) => !serving.includes(c))
  if (stray.length) {
    info(`removing ${stray.length} container(s) not behind the proxy: ${stray.map((c) => c.name).join(', ')}`)
    await removeContainers(ctx, stray, { grace: 5 })
  }
  const old = serving[0]
  const up = await ssh.remote(
    `compose up --detach --no-deps --no-recreate --scale api=${serving.length + 1} api 2>&1`,
    {
      release,
      nothrow: true,
    },
  )
  const after = await apiContainers(ctx, release)
  const fresh = after.containers.filter((c) => !containers.some((o) => o.id === c.id))
  if (up.exitCode !== 0 || fresh.length !== 1) {
    await removeContainers(ctx, fresh, { logs: true, grace: 2 })
    return `starting the new api container failed: ${up.stdout.trim()}`
  }
  const [next] = fresh
  const gateStart = performance.now()
  info(
    `started ${next.name} (${release.image}) beside ${old ? old.name : 'nothing (first release)'}; gate: ready within ${settings.readyTimeout} s`,
  )
  const notReady = await gate(ctx, next, release)
  steps.figures.gate = Number(seconds(gateStart))
  if (notReady) {
    await removeContainers(ctx, [next], { logs: true, grace: 2 })
    return `${notReady}; it was removed and ${old ? `${old.name} keeps serving` : 'nothing was serving yet'}`
  }
  info(`${next.name} ready in ${steps.figures.gate} s`)
  const switchStart = performance.now()
  const switchError = await switchTo(ctx, next.name, release)
  if (switchError) {
    if (old) await switchTo(ctx, old.name, { ...release, id: await oldRelease(ctx) })
    await removeContainers(ctx, [next], { logs: true, grace: 2 })
    return switchError
  }
  info(`proxy switched to ${next.name} in ${seconds(switchStart)} s`)
  const verifyError =
    (settings.domains.length ? await awaitCertificate(ctx, release) : undefined) ??
    (await verify(ctx, release))
  if (verifyError) {
    if (old) {
      const back = await switchTo(ctx, old.name, { ...release, id: await oldRelease(ctx) })
      info(back ? chalk.red(back) : `switched back to ${old.name}`)
    }
    await removeContainers(ctx, [next], { logs: true, grace: 10 })
    return verifyError
  }
  if (old) {
    // A request that read the old address just before the switch is still connecting: give it time to arrive.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const drainStart = performance.now()
    await removeContainers(ctx, [old])
    info(`drained and removed ${old.name} in ${seconds(drainStart)} s`)
  }
}
