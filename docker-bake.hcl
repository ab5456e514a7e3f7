# docker buildx bake [dev|prod|edge|release|prod-cross|validate]; every variable can be overridden from the environment.
# dev, prod and validate build on any builder, the plain `docker` driver included; release and prod-cross are for pushing.
# Bake also reads compose.yaml: its `api` service becomes a target of that name, pinned to the dev image below.

# Keep equal to "packageManager" in package.json.
variable "BUN_VERSION" {
  default = "1.4.5"
}

# Registry host and namespace to push to, e.g. ghcr.io/acme; empty keeps images local.
variable "REGISTRY" {
  default = ""
}

variable "IMAGE" {
  default = "bakehouse"
}

# Moving tag next to the immutable ${GIT_SHA} one.
variable "TAG" {
  default = "latest"
}

# Set from `git rev-parse --short HEAD`; bake cannot ask git itself.
variable "GIT_SHA" {
  default = "local"
}

variable "VERSION" {
  default = "0.1.0"
}

# Repository URL for the source label; CI sets it from its own context.
variable "SOURCE" {
  default = ""
}

# RFC 3339; CI passes the commit time so rebuilding a commit gives the same label.
variable "CREATED" {
  default = timestamp()
}

# Cache import/export, e.g. type=gha,scope=bakehouse and type=gha,scope=bakehouse,mode=max in GitHub Actions.
# Empty on the docker driver, which keeps its own build cache.
variable "CACHE_FROM" {
  default = ""
}

variable "CACHE_TO" {
  default = ""
}

function "ref" {
  params = [tag]
  result = named(IMAGE, tag)
}

function "named" {
  params = [name, tag]
  result = REGISTRY == "" ? "${name}:${tag}" : "${REGISTRY}/${name}:${tag}"
}

target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  args = {
    BUN_VERSION = BUN_VERSION
  }
  labels = {
    "org.opencontainers.image.title"       = "bakehouse"
    "org.opencontainers.image.description" = "Bun + Elysia + MikroORM notes API"
    "org.opencontainers.image.licenses"    = "MIT"
  }
  # compact() drops the empty default, so nothing is imported or exported unless asked.
  cache-from = compact([CACHE_FROM])
  cache-to   = compact([CACHE_TO])
}

target "dev" {
  inherits = ["_common"]
  target   = "dev"
  tags     = [ref("dev")]
}

# Same name as the compose.yaml service, so bake merges the two into this one dev build instead of a second image.
target "api" {
  inherits = ["dev"]
}

target "prod" {
  inherits = ["_common"]
  target   = "prod"
  args = {
    VERSION  = VERSION
    REVISION = GIT_SHA
    CREATED  = CREATED
    SOURCE   = SOURCE
  }
  tags = [ref(GIT_SHA), ref(TAG)]
}

# prod with an SBOM and max-mode provenance, for `--push` to a registry. Attestations travel with a pushed image;
# the plain `docker` driver refuses them, so they live here and not on prod (a docker-container builder stores them).
target "release" {
  inherits = ["prod"]
  attest = [
    "type=sbom",
    "type=provenance,mode=max",
  ]
}

# The release for amd64 and arm64 (add --push); a multi-platform image cannot be loaded into the docker image store.
target "prod-cross" {
  inherits  = ["release"]
  platforms = ["linux/amd64", "linux/arm64"]
}

# The deploy's proxy and certificate client (ADR 0021); the deploy tags it by content, so an unchanged edge is kept.
target "edge" {
  inherits = ["_common"]
  target   = "edge"
  labels = {
    "org.opencontainers.image.title"       = "bakehouse-edge"
    "org.opencontainers.image.description" = "nginx + njs + lego edge for bakehouse deploys"
  }
  tags = [named("${IMAGE}-edge", GIT_SHA), named("${IMAGE}-edge", TAG)]
}

# Lint and type-check in the build stage's environment, producing nothing but a pass or a failure.
target "check" {
  inherits = ["_common"]
  target   = "check"
  output   = ["type=cacheonly"]
}

group "default" {
  targets = ["dev", "prod"]
}

group "validate" {
  targets = ["check"]
}
