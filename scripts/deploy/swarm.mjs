// Swarm mode's rolling update: docker stack deploy of the release; swarm starts new tasks first, rolls back failures.
import { chalk } from 'zx'
import { info } from './output.mjs'

/** stderr without swarm's warning about locally loaded images, which is expected without a registry. */
export function problems(stderr) {
  return stderr
    .replace(/image \S+ could not be accessed on a registry[\s\S]*?versions of the image\.\n?/g, '')
    .trim()
}

/**
 * docker stack deploy, then waits for the api update; `replicas: 0` brings up everything but the api.
 * Returns an error message, or undefined.
 */
export async function swarmDeploy({ settings, ssh }, release, { replicas } = {}) {
  const result = await ssh.remote(
    `
    load_env
    # The server's own bind address: swarm cannot honour one narrower than every address, so it refuses.
    case "\${PROXY_BIND:-0.0.0.0}" in
      0.0.0.0|::) ;;
      *) echo "PROXY_BIND=$PROXY_BIND in $DIR/.env: swarm publishes on every address of the node and cannot bind one; set 0.0.0.0 and restrict access with a firewall, or deploy in compose mode" >&2; exit 6 ;;
    esac
    # Two api replicas by default, so a node or a task can go without downtime; SWARM_REPLICAS in .env changes it.
    API_REPLICAS=\${SWARM_REPLICAS:-2}${replicas === undefined ? '' : `; API_REPLICAS=${replicas}`}
    # The api runs on the workers when the swarm has a ready one (the manager keeps the db and the proxy), else here.
    API_NODE_ROLE=manager
    if docker node ls --filter role=worker --format '{{.Status}} {{.Availability}}' | grep -q '^Ready Active$'; then API_NODE_ROLE=worker; fi
    export IMAGE RELEASE API_REPLICAS API_NODE_ROLE
    docker stack deploy --detach=true --prune ${settings.registry ? '--with-registry-auth' : '--resolve-image never'} --compose-file "releases/$REL/stack.yaml" "$PROJECT" 2>&1 | grep -v '^Ignoring' || true
    service="\${PROJECT}_api"
    # Start-first places each new task beside the old ones and swarm never moves a running task, so an update can
    # leave every replica on one worker. Down to one and back up spreads them (scaling down takes from the busiest
    # node), so losing a worker never stops the api.
    spread() {
      [ "$API_NODE_ROLE" = worker ] && [ "$API_REPLICAS" -gt 1 ] || return 0
      workers=$(docker node ls --filter role=worker --format '{{.Status}} {{.Availability}}' | grep -c '^Ready Active$' || true)
      nodes=$(docker service ps --filter desired-state=running --format '{{.Node}}' "$service" | sort -u | wc -l)
      [ "$nodes" -lt "$API_REPLICAS" ] && [ "$nodes" -lt "$workers" ] || return 0
      docker service scale --detach=false "$service=1" >/dev/null 2>&1
      docker service scale --detach=false "$service=$API_REPLICAS" >/dev/null 2>&1
      echo "api: replicas spread again over $(docker service ps --filter desired-state=running --format '{{.Node}}' "$service" | sort -u | wc -l) workers"
    }
    # Wait for the rolling update (or swarm's own rollback) to finish.
    for i in $(seq 1 ${Math.ceil((settings.readyTimeout + 60) * 2)}); do
      state=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{else}}none{{end}}' "$service")
      image=$(docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$service")
      case "$state" in
        completed|none)
          running=$(docker service ls --filter "name=$service" --format '{{.Replicas}}')
          case "$running" in "$API_REPLICAS/$API_REPLICAS"*) echo "api: $state, $running replicas of $image"; spread; exit 0 ;; esac ;;
        rollback_completed) echo "swarm rolled back: $(docker service inspect --format '{{.UpdateStatus.Message}}' "$service")" >&2; exit 3 ;;
        paused|rollback_paused) echo "update $state: $(docker service inspect --format '{{.UpdateStatus.Message}}' "$service")" >&2; exit 4 ;;
      esac
      sleep 0.5
    done
    echo "the update did not finish: state $state (tasks left in Starting on other nodes: their kernel may lack IPsec ESP for the encrypted overlays, see DEPLOY_OVERLAY_ENCRYPTION)" >&2
    exit 5
  `,
    { release, nothrow: true },
  )
  for (const line of result.stdout.trim().split('\n').filter(Boolean)) info(line)
  // The proxy's name lookups follow the new tasks by themselves: nothing to reload.
  if (result.exitCode === 0) return undefined
  // The tasks, then the logs of the newest failed one: why the new release did not come up.
  const logs = await ssh.remote(
    `service="\${PROJECT}_api"
     docker service ps --no-trunc --format '{{.Name}} {{.Image}} {{.CurrentState}} {{.Error}}' "$service" | head -n 6
     task=$(docker service ps --no-trunc --filter desired-state=shutdown --format '{{.ID}} {{.CurrentState}}' "$service" | awk '$2 == "Failed" {print $1; exit}')
     [ -z "$task" ] || { echo "---- logs of failed task $task ----"; docker service logs --raw --tail 20 "$task" 2>&1; }`,
    { nothrow: true },
  )
  console.error(chalk.dim(logs.stdout.trim()))
  return problems(result.stderr) || `docker stack deploy failed (exit ${result.exitCode})`
}

/** Asks swarm to put the api back on the spec it ran before the last update. */
export async function swarmRollback({ ssh }) {
  await ssh.remote(`docker service rollback --quiet "$PROJECT"_api >/dev/null`, { nothrow: true })
}
