#!/bin/sh
# The edge image's entrypoint: `nginx` (the default) renders the config from EDGE_* settings and runs nginx in the
# foreground; `check` renders and tests it, then exits (the deploy asks before it replaces a running proxy); `acme`
# runs the certificate client (acme.sh). A bad setting stops the container with its name.
set -eu

command=${1:-nginx}
case "$command" in
  acme) shift; exec /etc/edge/acme.sh "$@" ;;
  nginx | check) ;;
  *) exec "$@" ;;
esac

: "${EDGE_RATE:=50}" "${EDGE_BURST:=100}" "${EDGE_CONNECTIONS:=64}" "${EDGE_UPLOADS:=4}" "${EDGE_BODY_MAX:=1m}"
: "${EDGE_DOMAINS:=}"
: "${EDGE_TRUSTED_PROXIES:=}"
bad=''
for pair in "EDGE_RATE=$EDGE_RATE" "EDGE_BURST=$EDGE_BURST" "EDGE_CONNECTIONS=$EDGE_CONNECTIONS" "EDGE_UPLOADS=$EDGE_UPLOADS"; do
  case "${pair#*=}" in '' | *[!0-9]* | 0) bad="$bad ${pair%%=*} (a whole number above 0, got '${pair#*=}')" ;; esac
done
case "$EDGE_BODY_MAX" in '' | *[!0-9kmKM]* | [!0-9]*) bad="$bad EDGE_BODY_MAX (like 1m or 512k, got '$EDGE_BODY_MAX')" ;; esac
# Commas or spaces between names; lowercase, each once (nginx refuses a name listed twice), each a plain DNS name.
domains=$(printf '%s' "$EDGE_DOMAINS" | tr ',A-Z\t' ' a-z ' | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ' | sed 's/ $//')
for domain in $domains; do
  case "$domain" in
    *[!a-z0-9.-]* | .* | *. | *..* | -*) bad="$bad EDGE_DOMAINS ('$domain' is not a DNS name)" ;;
  esac
done
# Addresses or CIDR ranges of a TLS terminator in front of the edge, whose X-Forwarded-* the edge believes.
trusted=$(printf '%s' "$EDGE_TRUSTED_PROXIES" | tr ',\t\n' '   ' | tr -s ' ' | sed 's/^ //; s/ $//')
for range in $trusted; do
  case "$range" in
    *[!0-9a-fA-F.:/]* | */*/* | '') bad="$bad EDGE_TRUSTED_PROXIES ('$range' is not an address or CIDR range)" ;;
  esac
done
if [ -n "$bad" ]; then
  echo "edge: invalid settings:$bad" >&2
  exit 2
fi

mkdir -p /tmp/edge
export EDGE_RATE EDGE_BURST EDGE_CONNECTIONS EDGE_UPLOADS EDGE_BODY_MAX
# shellcheck disable=SC2016 # envsubst's list of names to replace, not an expansion.
vars='$EDGE_RATE $EDGE_BURST $EDGE_CONNECTIONS $EDGE_UPLOADS $EDGE_BODY_MAX $EDGE_PRIMARY_DOMAIN $EDGE_DOMAIN_MAP'
if [ -n "$domains" ]; then
  EDGE_PRIMARY_DOMAIN=${domains%% *}
  EDGE_DOMAIN_MAP=$(for domain in $domains; do printf '  %s %s;\n' "$domain" "$domain"; done)
  export EDGE_PRIMARY_DOMAIN EDGE_DOMAIN_MAP
  envsubst "$vars" < /etc/edge/site-https.conf.template > /tmp/edge/site.conf
  echo "edge: HTTPS for $domains (certificate /certs/edge.pem), HTTP redirects" >&2
else
  envsubst "$vars" < /etc/edge/site-http.conf.template > /tmp/edge/site.conf
  echo 'edge: plain HTTP (no EDGE_DOMAINS)' >&2
fi
# The terminators' addresses: nginx takes the client address from their X-Forwarded-For, and their scheme.
{
  for range in $trusted; do printf 'set_real_ip_from %s;\n' "$range"; done
  # shellcheck disable=SC2016 # nginx variables, written as they are.
  printf 'geo $realip_remote_addr $from_terminator {\n  default 0;\n'
  for range in $trusted; do printf '  %s 1;\n' "$range"; done
  printf '}\n'
} > /tmp/edge/trusted.conf
envsubst "$vars" < /etc/edge/nginx.conf.template > /tmp/edge/nginx.conf
if [ "$command" = check ]; then exec nginx -t -q -c /tmp/edge/nginx.conf; fi
exec nginx -c /tmp/edge/nginx.conf -g 'daemon off;'
