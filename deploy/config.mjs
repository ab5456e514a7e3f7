// Settings for scripts/deploy.mjs. Each one can be overridden by the environment variable named beside it
// (flags win over both). Nothing secret belongs here: secrets stay in the env file on the server.
export default {
  // DEPLOY_HOST: where to deploy over SSH, e.g. deploy@app.example.com (or a Host from ~/.ssh/config).
  host: '',
  // DEPLOY_SSH_CONFIG: an ssh_config file to use instead of ~/.ssh/config (ports, keys, jump hosts).
  sshConfig: '',
  // DEPLOY_DIR: the server directory holding releases, backups, history and the env file.
  dir: '/srv/bakehouse',
  // DEPLOY_PROJECT: compose project name, or stack name in swarm mode.
  project: 'bakehouse-prod',
  // DEPLOY_MODE: compose (one machine, cutover through the proxy) or swarm (docker stack deploy).
  mode: 'compose',
  // DEPLOY_IMAGE: image name; the tag is the git sha.
  image: 'bakehouse',
  // DEPLOY_REGISTRY: e.g. ghcr.io/acme; empty ships the image over SSH (docker save | gzip | docker load).
  registry: '',
  // DEPLOY_HEALTH_URL: the public base URL, checked from here with scripts/health.mjs after the switch.
  healthUrl: '',
  // DEPLOY_HEALTH_CA: a PEM file here to trust for that URL's certificate (a private or test CA); the deploy ignores
  // HEALTH_CA_FILE. DEPLOY_HEALTH_RESOLVE: host:address to reach it at before its DNS points there (HEALTH_RESOLVE
  // is ignored too, so only these settings decide what the check reaches).
  healthCa: '',
  healthResolve: '',
  // DEPLOY_PROXY_BIND, DEPLOY_PROXY_PORT: written to the server's env file by the first deploy only.
  proxyBind: '0.0.0.0',
  proxyPort: 80,
  // DEPLOY_DOMAIN: one or more names (comma or space separated) for HTTPS with certificates from an ACME CA; their
  // DNS must point at the server, and port 80 reach it for the CA's http-01 check. Empty: plain HTTP as before.
  domain: '',
  // DEPLOY_ACME_EMAIL: the ACME account's contact, for expiry notices; needed with a domain.
  acmeEmail: '',
  // DEPLOY_ACME_CA: the ACME directory URL; empty is Let's Encrypt. DEPLOY_ACME_CA_ROOT: a PEM file here to trust
  // for that CA's own HTTPS (a private CA); it is copied to the server.
  acmeCa: '',
  acmeCaRoot: '',
  // DEPLOY_PROXY_HTTPS_PORT: the server's HTTPS port (on DEPLOY_PROXY_BIND), used with a domain.
  proxyHttpsPort: 443,
  // DEPLOY_OVERLAY_ENCRYPTION: on (IPsec between swarm nodes for the db and api networks) or off, for kernels
  // without IPsec ESP, where the api's tasks on other nodes would never start.
  overlayEncryption: 'on',
  // DEPLOY_CERT_TIMEOUT: seconds the first certificate gets before the deploy fails.
  certTimeout: 120,
  // DEPLOY_READY_TIMEOUT: seconds a new release gets to answer /health/ready before it is thrown away (the gate).
  readyTimeout: 60,
  // DEPLOY_VERIFY_TIMEOUT: seconds the public URL gets to serve the new release after the switch.
  verifyTimeout: 30,
  // DEPLOY_KEEP_RELEASES: release directories and images kept on the server for rollback.
  keepReleases: 5,
  // DEPLOY_KEEP_BACKUPS: pg_dump files kept on the server.
  keepBackups: 10,
  // DEPLOY_LOCK_STALE_MINUTES: a lock older than this is taken over (its holder cannot still be deploying).
  lockStaleMinutes: 30,
  // DEPLOY_MIN_FREE_MB: free space the server needs in its directory's file system.
  minFreeMb: 2048,
}
