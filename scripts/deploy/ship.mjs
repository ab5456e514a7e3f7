// Getting a release onto the server: bake its image here, ship it there, upload its compose file and proxy config.
import { $, fs, path } from 'zx'
import { fail, info } from './output.mjs'
import { sq } from './ssh.mjs'
import { stackFile } from './stack.mjs'

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
      settings.registry && /push|registry|denied|unauthorized/i.test(build.stderr)
        ? `check that this machine can push to ${settings.registry} (\`docker login ${settings.registry.split('/')[0]}\`), then deploy again`
        : `fix the build locally (\`docker buildx bake ${target}\`), commit, deploy again`,
    )
  const size = (await $`docker image inspect --format {{.Size}} ${release.image}`.nothrow()).stdout.trim()
  if (size) info(`${release.image}: ${(Number(size) / 1e6).toFixed(1)} MB`)
}

export async function ship({ settings, ssh }, release) {
  if (settings.registry) {
    // bake already pushed; the server pulls with its own registry login.
    await ssh
      .remote(`docker pull --quiet ${sq(release.image)}`)
      .catch((error) =>
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
  })`docker save ${release.image} | gzip -1 | ssh ${ssh.args} ${settings.host} ${load}`
  if (sent.exitCode !== 0)
    fail(
      `shipping ${release.image} failed: ${sent.stderr.trim()}`,
      'check disk space and docker on the server, then deploy again',
    )
  info(sent.stdout.trim())
}

/** Writes the release's files under releases/<id>/; the first deploy also creates the server's settings and secret. */
export async function upload({ settings, root, ssh }, release) {
  const { dir, mode } = settings
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
  await ssh
    .remote(
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
    )
    .then((out) => out && info(out.replaceAll('\n', ', ')))
  info(`releases/${release.id}/: ${Object.keys(contents).join(', ')}`)
}
