#!/bin/sh
# Certificates for the edge from an ACME CA with lego (http-01 through a webroot the edge's nginx serves), published
# as one PEM (chain + key) renamed into place, so nginx, which reads it at each handshake, never sees half a pair.
# Runs as the edge's unprivileged user on a read-only root: it writes only to ACME_STATE, ACME_WEBROOT and the
# folder of ACME_PEM. Usage: acme.sh [run|once|renew --force|--help]
# No globbing: names are split on spaces on purpose, and a `*` in one must stay a `*` for check_settings to refuse.
set -uf

HELP='Usage: acme.sh [run|once|renew --force|--help]

  run            (default) get a certificate if there is none, then check every ACME_CHECK_INTERVAL seconds and
                 renew within ACME_RENEW_DAYS of expiry; failures are logged and retried, never fatal
  once           get or renew once, publish, exit (non-zero on failure)
  renew --force  get a new certificate now, whatever its expiry, publish, exit (non-zero on failure)

Environment:
  EDGE_DOMAINS         names to certify, space or comma separated; the first names the certificate (required)
  ACME_EMAIL           account contact; lego 4.9 refuses to register without one (required)
  ACME_CA              ACME directory URL (default Let'"'"'s Encrypt production)
  ACME_CA_ROOT         PEM file trusted for the CA'"'"'s own HTTPS, for private CAs (optional)
  ACME_STATE           account, certificates and lock; keep it in a volume (default /acme)
  ACME_WEBROOT         folder served as /.well-known/acme-challenge/ on port 80 (default /tmp/acme-webroot)
  ACME_PEM             where the chain + key PEM is published, mode 0600 (default /certs/edge.pem)
  ACME_RENEW_DAYS      renew when the certificate has at most this many days left (default 30)
  ACME_CHECK_INTERVAL  seconds between renewal checks (default 43200)
  ACME_RETRY_INTERVAL  seconds before retrying after a failure (default 900: Let'"'"'s Encrypt allows 5 failed
                       validations per name an hour)
Using a CA accepts its terms of service (lego --accept-tos).'

LETS_ENCRYPT=https://acme-v02.api.letsencrypt.org/directory
ACME_CA=${ACME_CA:-$LETS_ENCRYPT}
ACME_STATE=${ACME_STATE:-/acme}
ACME_WEBROOT=${ACME_WEBROOT:-/tmp/acme-webroot}
ACME_PEM=${ACME_PEM:-/certs/edge.pem}
ACME_RENEW_DAYS=${ACME_RENEW_DAYS:-30}
ACME_CHECK_INTERVAL=${ACME_CHECK_INTERVAL:-43200}
ACME_RETRY_INTERVAL=${ACME_RETRY_INTERVAL:-900}
ACME_EMAIL=${ACME_EMAIL:-}
# Lowercase, one per word: lego names files after the first domain as given, and the CA compares names lowercased.
DOMAINS=$(printf '%s' "${EDGE_DOMAINS:-}" | tr ',A-Z\t\n' ' a-z  ' | tr -s ' ' | sed 's/^ //; s/ $//')
LEGO_DIR=$ACME_STATE/lego
# What the current certificate was asked for; a change of CA or names needs a new order, not a renewal.
REQUEST_FILE=$ACME_STATE/request
LOG_FILE=$ACME_STATE/lego.log

log() { printf 'acme: %s\n' "$*" >&2; }

# Every bad setting at once, then exit 2.
check_settings() {
  problems=''
  add() { problems="$problems
  - $*"; }
  [ -n "$DOMAINS" ] || add 'EDGE_DOMAINS: expected one or more domain names, got nothing'
  for domain in $DOMAINS; do
    case $domain in
      *[!a-z0-9.-]* | .* | *. | *..* | -* | *.-* | *-.*)
        add "EDGE_DOMAINS: expected a DNS name (http-01 cannot issue wildcards), got $domain" ;;
      *.*) ;;
      *) add "EDGE_DOMAINS: expected a fully qualified name such as app.example.com, got $domain" ;;
    esac
  done
  case $ACME_EMAIL in
    ?*@?*.?*) ;;
    *) add "ACME_EMAIL: expected an email address for the ACME account, got '${ACME_EMAIL}'" ;;
  esac
  case $ACME_CA in
    https://?*) ;;
    *) add "ACME_CA: expected the https:// URL of an ACME directory, got '$ACME_CA'" ;;
  esac
  if [ -n "${ACME_CA_ROOT:-}" ] && [ ! -r "$ACME_CA_ROOT" ]; then
    add "ACME_CA_ROOT: expected a readable PEM file, got '$ACME_CA_ROOT'"
  fi
  value=''
  for name in ACME_RENEW_DAYS ACME_CHECK_INTERVAL ACME_RETRY_INTERVAL; do
    eval "value=\$$name"
    case $value in
      '' | *[!0-9]*) add "$name: expected a whole number, got '$value'" ;;
      *) case $name in *INTERVAL) [ "$value" -gt 0 ] || add "$name: expected at least 1 second, got $value" ;; esac ;;
    esac
  done
  for dir in "$ACME_STATE" "$ACME_WEBROOT" "$(dirname "$ACME_PEM")"; do
    mkdir -p "$dir" 2>/dev/null
    [ -w "$dir" ] || add "expected $dir to be writable by uid $(id -u) (mount a volume there), got no write access"
  done
  if [ -n "$problems" ]; then
    log "bad settings:$problems"
    exit 2
  fi
}

# lego with the settings every command shares; its output goes to LOG_FILE for explain_failure, then to stderr.
lego_cmd() {
  # In order: lego names the certificate after the first. check_settings allowed only [a-z0-9.-] in them.
  # shellcheck disable=SC2086 # split on purpose, one flag per name
  domains=$(printf -- '--domains %s ' $DOMAINS)
  # shellcheck disable=SC2086 # split on purpose, one flag per name
  set -- --server "$ACME_CA" --path "$LEGO_DIR" --accept-tos --email "$ACME_EMAIL" \
    --http --http.webroot "$ACME_WEBROOT" $domains "$@"
  if [ -n "${ACME_CA_ROOT:-}" ]; then
    LEGO_CA_CERTIFICATES=$ACME_CA_ROOT lego "$@" >"$LOG_FILE" 2>&1
  else
    lego "$@" >"$LOG_FILE" 2>&1
  fi
  status=$?
  sed 's/^/acme: lego: /' "$LOG_FILE" >&2
  return $status
}

# One line on what went wrong and what to do, from lego's output.
explain_failure() {
  names=$(printf '%s' "$DOMAINS" | sed 's/ /, /g')
  if grep -q 'get directory at' "$LOG_FILE"; then
    if grep -q 'x509:' "$LOG_FILE"; then
      log "FAILED: the CA at $ACME_CA has an HTTPS certificate this machine does not trust; for a private CA set ACME_CA_ROOT to its root PEM"
    else
      log "FAILED: could not reach the ACME CA at $ACME_CA; check ACME_CA and that this server can make outbound HTTPS connections"
    fi
  elif grep -q 'rateLimited' "$LOG_FILE"; then
    log "FAILED: the CA rate-limited this request for $names; wait for the limit to pass (see lego's message above) and test against a staging CA"
  elif grep -Eq 'acme:error:(connection|dns|unauthorized|incorrectResponse)' "$LOG_FILE"; then
    log "FAILED: the CA could not fetch http://<name>/.well-known/acme-challenge/ for $names; make sure each name's DNS points at this server and port 80 is reachable from the internet"
  else
    log "FAILED: lego could not get a certificate for $names; see its output above"
  fi
}

# The certificate lego keeps for the first domain, and its key.
# shellcheck disable=SC2086 # split on purpose
first_domain() { set -- $DOMAINS; printf '%s' "$1"; }

# Writes chain + key under a temporary name next to ACME_PEM, then renames it over: readers see the old or the new.
# Under the lock, so one fixed temporary name serves, and one left by a killed run is simply overwritten.
publish() {
  crt=$LEGO_DIR/certificates/$(first_domain).crt
  key=$LEGO_DIR/certificates/$(first_domain).key
  if [ ! -s "$crt" ] || [ ! -s "$key" ]; then
    log "FAILED: lego reported success but left no $crt and $key; remove $ACME_STATE/request to start a new order"
    return 1
  fi
  tmp=$(dirname "$ACME_PEM")/.$(basename "$ACME_PEM").tmp
  (umask 077 && cat "$crt" "$key" >"$tmp") || { rm -f "$tmp"; log "FAILED: could not write $tmp"; return 1; }
  if cmp -s "$tmp" "$ACME_PEM"; then
    rm -f "$tmp"
    return 0
  fi
  mv -f "$tmp" "$ACME_PEM" || { rm -f "$tmp"; log "FAILED: could not rename $tmp to $ACME_PEM"; return 1; }
  # `lego list` prints Domains, Expiry Date, then Certificate Path for each certificate it keeps.
  expiry=$(lego --path "$LEGO_DIR" list 2>/dev/null |
    awk -v path="$crt" '/Expiry Date:/ { sub(/.*Expiry Date: /, ""); date = $0 } $NF == path { print date }')
  log "published $ACME_PEM for $(printf '%s' "$DOMAINS" | sed 's/ /, /g'), expires $expiry"
}

# A new order when there is no certificate yet, or when the CA or the names changed; else a renewal, which lego
# skips unless the certificate has at most ACME_RENEW_DAYS left (forced: whatever it has left). Renewals keep the
# key: nginx opens edge.pem once for the chain and once for the key, so a rename between the two must still pair a
# certificate with its key.
obtain() {
  force=$1
  request="$ACME_CA $DOMAINS"
  if [ ! -s "$LEGO_DIR/certificates/$(first_domain).crt" ] || [ "$(cat "$REQUEST_FILE" 2>/dev/null)" != "$request" ]; then
    log "ordering a certificate for $DOMAINS from $ACME_CA"
    lego_cmd run || { explain_failure; return 1; }
    printf '%s\n' "$request" >"$REQUEST_FILE"
  else
    days=$ACME_RENEW_DAYS
    [ "$force" = force ] && days=36500
    # lego's random delay of up to 8 minutes spreads cron jobs started on the hour; this loop starts at deploy time.
    lego_cmd renew --days "$days" --reuse-key --no-random-sleep || { explain_failure; return 1; }
  fi
  publish
}

# One step under the state lock, so `renew --force` from `docker exec` never races the loop's check.
locked() {
  (
    flock -w 300 9 || { log "FAILED: another acme.sh held $ACME_STATE/lock for 5 minutes"; exit 1; }
    obtain "$1"
  ) 9>"$ACME_STATE/lock"
}

command=${1:-run}
case $command in
  -h | --help | help)
    printf '%s\n' "$HELP"
    exit 0
    ;;
  run | once) ;;
  renew)
    if [ "${2:-}" != --force ]; then
      log "renew: expected --force (the loop renews on its own), got '${2:-}'"
      exit 2
    fi
    ;;
  *)
    log "expected run, once or renew --force, got '$command'; see acme.sh --help"
    exit 2
    ;;
esac
check_settings

case $command in
  once) locked check; exit ;;
  renew) locked force; exit ;;
esac

log "managing $ACME_PEM for $DOMAINS: checks every ${ACME_CHECK_INTERVAL}s, renews within $ACME_RENEW_DAYS days of expiry"
# On stop (SIGTERM, or the edge image's SIGQUIT): end the sleep and exit at once instead of waiting it out.
sleeper=''
trap '[ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null; exit 0' TERM INT QUIT
while :; do
  wait_for=$ACME_CHECK_INTERVAL
  locked check || { wait_for=$ACME_RETRY_INTERVAL; log "retrying in ${wait_for}s"; }
  # In the background, so a signal interrupts the wait.
  sleep "$wait_for" &
  sleeper=$!
  wait "$sleeper"
  sleeper=''
done
