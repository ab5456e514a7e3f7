# docker buildx bake [dev|prod|prod-cross|validate]; every variable can be overridden from the environment.
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
  result = REGISTRY == "" ? "${IMAGE}:${tag}" : "${REGISTRY}/${IMAGE}:${tag}"
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
  # Needs a builder that can store them (docker-container driver or the containerd image store);
  # on the plain docker driver build with --sbom=false --provenance=false.
  attest = [
    "type=sbom",
    "type=provenance,mode=max",
  ]
}

# Multi-arch for pushing (add --push); the docker driver can only load one platform.
target "prod-cross" {
  inherits  = ["prod"]
  platforms = ["linux/amd64", "linux/arm64"]
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
