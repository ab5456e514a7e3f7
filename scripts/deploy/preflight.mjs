// The first step of every action: a clean git tree, SSH, Docker and Compose on the server, disk, swarm role.
import { $, fs } from 'zx'
import { fail, info } from './output.mjs'

/** Checks what the action needs before anything changes; returns the server's platform (linux/amd64, …). */
export async function preflight({ settings, args, action, ssh }) {
  const { host, dir, mode } = settings
  if (!host)
    fail(
      'no server configured',
      'pass --host user@server or set DEPLOY_HOST (or host in deploy/config.mjs)',
      2,
    )
  // Read only at upload, after the build: a missing file must stop the deploy before that.
  if (settings.acmeCaRoot && !fs.existsSync(settings.acmeCaRoot))
    fail(
      `DEPLOY_ACME_CA_ROOT: expected a PEM file, got ${settings.acmeCaRoot}, which does not exist`,
      "point it at your ACME CA's root certificate, or unset it for Let's Encrypt",
      2,
    )
  if (settings.healthCa && !fs.existsSync(settings.healthCa))
    fail(
      `DEPLOY_HEALTH_CA: expected a PEM file, got ${settings.healthCa}, which does not exist`,
      "point it at the root that signs DEPLOY_HEALTH_URL's certificate, or unset it for the system's roots",
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
  const out = await ssh
    .remote(
      `
    docker version --format 'docker={{.Server.Version}}' || { echo 'docker=missing'; exit 0; }
    printf 'compose=%s\\n' "$(docker compose version --short 2>/dev/null || echo missing)"
    docker info --format 'arch={{.Architecture}}
swarm={{.Swarm.LocalNodeState}}
manager={{.Swarm.ControlAvailable}}
nodes={{.Swarm.Nodes}}'
    printf 'free_kb=%s\\n' "$(df -Pk "$DIR" | awk 'NR==2 {print $4}')"
  `,
    )
    .catch((error) =>
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
