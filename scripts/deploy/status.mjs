// The read-only actions: --status (live release, lock, containers, history, backups) and --logs.
import { fail } from './output.mjs'

export async function status({ ssh }) {
  const out = await ssh.remote(`
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

/** The api's, the proxy's and the certificate client's recent logs (--lines N), streamed with --follow. */
export async function logs({ settings, args, ssh }) {
  const lines = Number(args.lines ?? 100)
  // It lands in the remote script as a number, so nothing but a number gets there.
  if (!Number.isInteger(lines) || lines < 0)
    fail(
      `--lines: expected a whole number, got ${args.lines}`,
      'pass --lines 200, or leave it out for 100',
      2,
    )
  const follow = args.follow ? '--follow' : ''
  const script =
    settings.mode === 'swarm'
      ? `docker service logs --tail ${lines} ${follow} "\${PROJECT}_api" & docker service logs --tail ${lines} ${follow} "\${PROJECT}_proxy"; wait`
      : `for id in $(ps_service api | awk '{print $1}') $(ps_service proxy | awk '{print $1}') $(ps_service acme | awk '{print $1}'); do
           echo "---- $(docker inspect --format '{{.Name}} {{.Config.Image}}' "$id")"
           docker logs --tail ${lines} --timestamps ${follow} "$id" 2>&1 ${follow ? '&' : ''}
         done; wait`
  await ssh.remoteLive(script)
}
