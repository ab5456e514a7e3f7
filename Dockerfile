# Stages: base → deps → dev (compose, devcontainer); deps → build → prod (deployed image); deps → check (bake validate);
# edge (the deploy's proxy and certificate client) on its own.
# Keep BUN_VERSION equal to "packageManager" in package.json; docker-bake.hcl passes it in.
ARG BUN_VERSION=1.4.5

# Debian trixie slim: glibc for Bun, and Debian packages recent enough for the dev tools.
FROM oven/bun:${BUN_VERSION}-slim AS base
WORKDIR /home/bun/app

FROM base AS deps
# Only the manifest, lockfile and dependency patches are mounted, so editing source never re-runs the install.
# The cache mount keeps downloaded packages between builds without putting them in a layer.
RUN --mount=type=bind,source=package.json,target=package.json \
    --mount=type=bind,source=bun.lock,target=bun.lock \
    --mount=type=bind,source=patches,target=patches \
    --mount=type=cache,id=bun-install,target=/root/.bun/install/cache \
    bun install --frozen-lockfile

FROM base AS dev
# The official Debian images delete downloaded .debs after each install; keep them in the cache mount instead.
# The app folder belongs to bun so `bun add` can rewrite package.json and bun.lock in the container.
RUN rm -f /etc/apt/apt.conf.d/docker-clean && chown bun:bun /home/bun/app
# docker-cli, docker-buildx and docker-compose (v2) come from trixie, so `docker buildx bake` and `docker compose` work inside.
RUN --mount=type=cache,id=apt-cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,id=apt-lists,target=/var/lib/apt,sharing=locked \
    apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git docker-cli docker-buildx docker-compose
# Owned by bun so the developer can add packages and tools can write caches inside the container.
COPY --from=deps --chown=bun:bun /home/bun/app/node_modules node_modules
# Found by resolution from any folder: the dev container serves its checkout before `bun install` fills its volume.
RUN ln -s /home/bun/app/node_modules /node_modules
COPY --chown=bun:bun . .
USER bun
ENV NODE_ENV=development
EXPOSE 3000
# The dev supervisor applies migrations, then runs the server under `bun --watch`.
CMD ["bun", "run", "dev"]

FROM deps AS build
# Only what the bundle is made of: editing tests, scripts or docs never rebuilds prod.
COPY package.json ./
COPY src src
# The entry points bundled with shared chunks: prod needs neither node_modules nor the TypeScript sources.
# Minified without renaming: Elysia and MikroORM compare class names at run time (ADR 0002). No source maps (~6 MB).
# The two externals are optional imports their libraries load lazily and catch: file type sniffing, entity globbing.
RUN bun build src/index.ts src/migrate.ts src/healthcheck.ts --target bun --splitting --minify-whitespace --minify-syntax \
    --external file-type --external tinyglobby --outdir dist

# Only for `docker buildx bake validate`: `bun run check` against the locked toolchain; prod never depends on it.
FROM deps AS check
COPY . .
RUN bun run check

# The deploy's edge (compose.prod.yaml `proxy` and `acme`, ADR 0021): nginx with njs, for TLS, per-client limits and
# cutovers without a reload, and lego for ACME certificates. Debian packages only; no Bun, no app code.
FROM debian:13.8-slim AS edge
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx libnginx-mod-http-js lego gettext-base curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    # uid 101 like the official nginx image, so volumes keep their owner if the image is swapped.
    && groupadd --system --gid 101 edge \
    && useradd --system --uid 101 --gid 101 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin edge
COPY deploy/edge/ /etc/edge/
# Mount points owned by the edge user: a new named volume takes this owner, so certificates stay writable to it.
RUN mkdir /certs /acme && chown 101:101 /certs /acme
USER 101:101
EXPOSE 8080 8443
# nginx's graceful stop: open requests finish, then the workers exit.
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/etc/edge/entrypoint.sh"]
CMD ["nginx"]

# Debian 13 distroless with Bun: glibc and CA certificates, no shell, no apt.
FROM oven/bun:${BUN_VERSION}-distroless AS prod
WORKDIR /app
COPY --from=build /home/bun/app/dist ./
ENV NODE_ENV=production
# Numeric ids: the distroless nonroot user, checkable by runAsNonRoot without reading /etc/passwd.
USER 65532:65532
EXPOSE 3000
# No curl in the image: Bun probes /health/ready until it passes once, then /health/live (src/healthcheck.ts,
# ADR 0006); every 0.5 s until the first pass.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --start-interval=500ms --retries=3 \
    CMD ["/usr/local/bin/bun", "--no-install", "/app/healthcheck.js"]
# The server drains and closes the pool on SIGTERM, then exits 0.
STOPSIGNAL SIGTERM
# --no-install: with no node_modules next to the bundle, Bun would otherwise try to fetch optional imports from npm at startup.
ENTRYPOINT ["/usr/local/bin/bun", "--no-install"]
CMD ["index.js"]
# Declared last: a new revision or date only changes the image config, never a layer.
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.source=$SOURCE \
      org.opencontainers.image.revision=$REVISION \
      org.opencontainers.image.created=$CREATED \
      org.opencontainers.image.version=$VERSION
