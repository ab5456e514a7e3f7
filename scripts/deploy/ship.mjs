// Getting a release onto the server: bake its image and the edge here, ship them there, upload its compose file.
import { createHash } from 'node:crypto'
import { $, fs, path } from 'zx'
import { fail, info } from './output.mjs'
import { sq } from './ssh.mjs'
import { serverComposeFile, stackFile } from './stack.mjs'

/** The release of the checked-out commit: its id (the short sha, `-dirty` with local changes) and image. */
export async function gitRelease({ settings }) {
  const sha = (await $`git rev-parse --short HEAD`).stdout.trim()
  const dirty = (await $`git status --porcelain`).stdout.trim() !== ''
  const id = dirty ? `${sha}-dirty` : sha
  const repo = settings.registry ? `${settings.registry}/${settings.image}` : settings.image
  return { id, image: `${repo}:${id}` }
}

/** The bake target and output: prod loaded here, or pushed to the registry with attestations when the builder can. */
async function bakeTarget({ settings }) {
  if (!settings.registry) return ['prod', '--load']
  // The plain `docker` driver cannot store SBOM and provenance attestations: it pushes prod without them.
  const builder = (await $({ nothrow: true })`docker buildx inspect`).stdout
  if (/^Driver:\s+docker$/m.test(builder)) {
    info(
      'the docker build driver pushes prod without SBOM and provenance (a docker-container builder adds them)',
    )
    return ['prod', '--push']
  }
  return ['release', '--push']
}

export async function bake(ctx, release, platform) {
  const { settings } = ctx
  const [target, output] = await bakeTarget(ctx)
  // --pull: the newest base images (Debian's security fixes), not the ones this machine has cached.
  const pull = ctx.args?.pull ? ['--pull'] : []
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
  })`docker buildx bake ${pull} ${output} --set ${target}.platform=${platform} ${target}`
  if (build.exitCode !== 0)
    fail(
      `docker buildx bake ${target} failed:\n${build.stderr.split('\n').slice(-25).join('\n')}`,
      settings.registry && /failed to push|denied|unauthorized|insufficient_scope/i.test(build.stderr)
        ? `check that this machine can push to ${settings.registry} (\`docker login ${settings.registry.split('/')[0]}\`), then deploy again`
        : `fix the build locally (\`docker buildx bake ${target}\`), commit, deploy again`,
    )
  const size = (await $`docker image inspect --format {{.Size}} ${release.image}`.nothrow()).stdout.trim()
  if (size) info(`${release.image}: ${(Number(size) / 1e6).toFixed(1)} MB`)
  return bakeEdge(ctx, release, platform, { env, pull })
}

/**
 * What the edge is made of, as a short hash: its Dockerfile stage, the files it copies and its base image as this
 * machine has it. The same inputs give the same name on any machine, so a deploy that leaves the edge alone keeps the
 * running proxy (recreating it would close client connections) even where the build itself is not byte-reproducible.
 */
async function edgeInputs(root) {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')
  const stage = /^FROM (\S+) AS edge\b[\s\S]*?(?=^FROM |(?![\s\S]))/m.exec(dockerfile)
  if (!stage) fail('the Dockerfile has no `edge` stage', 'restore it from git')
  const hash = createHash('sha256').update(stage[0])
  for (const file of fs.readdirSync(path.join(root, 'deploy/edge')).sort())
    hash.update(`${file}\0`).update(fs.readFileSync(path.join(root, 'deploy/edge', file)))
  hash.update((await $`docker image inspect --format {{.Id}} ${stage[1]}`).stdout.trim())
  return hash.digest('hex').slice(0, 12)
}

/** The edge image, built here and named by its inputs (edgeInputs); pushed too with a registry. Returns its name. */
async function bakeEdge({ settings, root }, release, platform, { env, pull }) {
  const build = await $({
    env,
    nothrow: true,
  })`docker buildx bake ${pull} --load --set edge.platform=${platform} edge`
  if (build.exitCode !== 0)
    fail(
      `docker buildx bake edge failed:\n${build.stderr.split('\n').slice(-25).join('\n')}`,
      'fix the build locally (`docker buildx bake edge`), commit, deploy again',
    )
  const repo = `${settings.registry ? `${settings.registry}/` : ''}${settings.image}-edge`
  const edgeImage = `${repo}:${await edgeInputs(root)}`
  // The inputs tag replaces the per-release one, so deploys leave one local tag per distinct edge.
  await $`docker tag ${repo}:${release.id} ${edgeImage}`
  await $`docker image rm ${repo}:${release.id}`.quiet()
  if (settings.registry) {
    const push = await $({ nothrow: true })`docker push --quiet ${edgeImage}`
    if (push.exitCode !== 0)
      fail(
        `pushing ${edgeImage} failed: ${push.stderr.trim()}`,
        `run \`docker login ${settings.registry.split('/')[0]}\` here`,
      )
  }
  info(`edge: ${edgeImage}`)
  return edgeImage
}

/** Puts the release's image and the edge image on the server: pulled from the registry, or sent over SSH when missing. */
export async function ship({ settings, ssh }, release) {
  const images = [release.image, release.edgeImage]
  if (settings.registry) {
    // bake already pushed; the server pulls with its own registry login.
    await ssh
      .remote(images.map((image) => `docker pull --quiet ${sq(image)}`).join(' && '))
      .catch((error) =>
        fail(
          `the server could not pull ${images.join(', ')}: ${error.stderr}`,
          `run \`docker login ${settings.registry.split('/')[0]}\` on the server`,
        ),
      )
    return
  }
  for (const image of images) {
    const present = await ssh.remote(
      `docker image inspect ${sq(image)} >/dev/null 2>&1 && echo yes || echo no`,
    )
    if (present === 'yes') {
      info(`${image}: already on the server`)
      continue
    }
    const load = `sh -c ${sq('gunzip | docker load')}`
    const sent = await $({
      nothrow: true,
    })`docker save ${image} | gzip -1 | ssh ${ssh.args} ${settings.host} ${load}`
    if (sent.exitCode !== 0)
      fail(
        `shipping ${image} failed: ${sent.stderr.trim()}`,
        'check disk space and docker on the server, then deploy again',
      )
    info(sent.stdout.trim())
  }
}

/** Writes the release's files under releases/<id>/; the first deploy also creates the server's settings and secret. */
export async function upload({ settings, root, ssh }, release) {
  const { dir, mode } = settings
  const files = ['compose.prod.yaml', 'deploy/db/roles.sh']
  for (const file of files)
    if (!fs.existsSync(path.join(root, file))) fail(`${file} is missing`, 'restore it from git')
  const contents = Object.fromEntries(
    files.map((file) => [file, fs.readFileSync(path.join(root, file), 'utf8')]),
  )
  const source = contents['compose.prod.yaml']
  contents['compose.prod.yaml'] = serverComposeFile(source)
  if (mode === 'swarm')
    contents['stack.yaml'] = stackFile(source, {
      dir,
      https: settings.domains.length > 0,
      encrypted: settings.overlayEncryption === 'on',
    })
  // Each file travels base64-encoded inside the script, so no quoting can change it.
  const writes = Object.entries(contents)
    .map(([file, text]) => {
      const target = `releases/$REL/${file}`
      return `mkdir -p "$(dirname "${target}")" && printf '%s' ${sq(Buffer.from(text).toString('base64'))} | base64 -d > "${target}"`
    })
    .join('\n')
  await ssh
    .remote(
      `
    ${writes}
    printf '%s\\n' "$IMAGE" > "releases/$REL/image"
    # The edge every release runs behind (a rollback keeps it: it only proxies); read by every later compose command.
    printf '%s\\n' ${sq(release.edgeImage)} > edge-image
    # The edge and acme (uid 101) read these directories through bind mounts; the rest stays private (umask 077).
    mkdir -p deploy/upstream deploy/acme-ca deploy/db backups && chmod 0755 deploy deploy/upstream deploy/acme-ca deploy/db
    # The db container (uid 999) runs it on its first start through a bind mount, as a program, not sourced.
    cp "releases/$REL/deploy/db/roles.sh" deploy/db/roles.sh.next && chmod 0755 deploy/db/roles.sh.next && mv -f deploy/db/roles.sh.next deploy/db/roles.sh
    # What deploys before umask 077 left readable to others becomes private too.
    chmod -R go= releases && chmod go= . releases history.tsv current edge-image 2>/dev/null || true
    ${
      settings.acmeCaRoot
        ? `# The private ACME CA's root, for the acme service (DEPLOY_ACME_CA_ROOT).
    printf '%s' ${sq(Buffer.from(fs.readFileSync(settings.acmeCaRoot, 'utf8')).toString('base64'))} | base64 -d > deploy/acme-ca/ca.pem && chmod 0644 deploy/acme-ca/ca.pem`
        : ''
    }
    ${
      mode === 'swarm'
        ? `# Swarm: the proxy follows the api service by name.
    printf 'api:3000\\n' > deploy/upstream/live.next && chmod 0644 deploy/upstream/live.next && mv -f deploy/upstream/live.next deploy/upstream/live`
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
    )
    .then((out) => out && info(out.replaceAll('\n', ', ')))
  info(`releases/${release.id}/: ${Object.keys(contents).join(', ')}`)
}
