// What the server remembers: releases/<id>/{compose.prod.yaml,image}, edge-image, current, history.tsv.
import { info } from './output.mjs'
import { sq } from './ssh.mjs'

/** The live release, every history line, and the releases still on the server (id → image). */
export async function readState({ ssh }) {
  const out = await ssh.remote(`
    printf 'current=%s\\n' "$(cat current 2>/dev/null || true)"
    [ -f history.tsv ] && sed 's/^/history=/' history.tsv || true
    for d in releases/*/; do [ -f "$d/image" ] && printf 'release=%s\\t%s\\n' "$(basename "$d")" "$(cat "$d/image")"; done 2>/dev/null || true
  `)
  const state = { current: '', history: [], releases: new Map() }
  for (const line of out.split('\n')) {
    const [key, ...rest] = line.split('=')
    const value = rest.join('=')
    if (key === 'current') state.current = value
    if (key === 'history') {
      const [time, action, id, image, by, duration] = value.split('\t')
      state.history.push({ time, action, id, image, by, duration })
    }
    if (key === 'release') {
      const [id, image] = value.split('\t')
      state.releases.set(id, image)
    }
  }
  return state
}

/** Shell appending a history.tsv line: time, action, release, image, who, duration. */
const historyLine = ({ who, steps }, action) =>
  `printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "$(date -u +%FT%TZ)" ${sq(action)} "$REL" "$IMAGE" ${sq(who)} ${sq(`${steps.elapsed()}s`)} >> history.tsv`

/** Records `release` as live after `action` (deploy or rollback). */
export async function record(ctx, action, release) {
  await ctx.ssh.remote(
    `
    ${historyLine(ctx, action)}
    printf '%s\\n' "$REL" > current
  `,
    { release },
  )
  info(`${ctx.settings.dir}/history.tsv: ${action} ${release.id} by ${ctx.who}`)
}

/** Records a release that did not go live; never throws, as it runs while a failure is being reported. */
export async function recordFailure(ctx, release) {
  await ctx.ssh.remote(historyLine(ctx, 'failed'), { release, nothrow: true })
}

/** Removes releases and their images beyond the newest `keepReleases`; the current one is always kept. */
export async function prune(ctx) {
  const { settings, ssh } = ctx
  const state = await readState(ctx)
  // Newest first, by when each release last went live.
  const order = [
    ...new Set(
      state.history
        .filter((h) => h.action !== 'failed')
        .map((h) => h.id)
        .reverse(),
    ),
  ]
  // Edge images but the one in use: the edge is not part of a release, so a rollback never needs an older one.
  const edgeRepo = `${settings.registry ? `${settings.registry}/` : ''}${settings.image}-edge`
  await ssh.remote(
    `keep=$(cat edge-image 2>/dev/null || true)
     docker images --format '{{.Repository}}:{{.Tag}}' ${sq(edgeRepo)} | grep -vxF "$keep" | xargs -r docker image rm >/dev/null 2>&1 || true`,
  )
  const keep = new Set([state.current, ...order.slice(0, settings.keepReleases)])
  const drop = [...state.releases.keys()].filter((id) => !keep.has(id))
  if (drop.length === 0)
    return info(`nothing to prune (${state.releases.size} release(s), keeping ${settings.keepReleases})`)
  const images = drop.map((id) => sq(state.releases.get(id))).join(' ')
  await ssh.remote(
    `docker image rm ${images} >/dev/null 2>&1 || true; rm -rf ${drop.map((id) => sq(`releases/${id}`)).join(' ')}`,
  )
  info(`removed release(s) ${drop.join(', ')} and their images`)
}
