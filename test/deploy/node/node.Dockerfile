# A server for the deploy tests: its own Docker engine (Debian's docker.io, compose v2), reached over SSH.
# Run only inside the tests, --privileged, with /var/lib/docker on a volume (overlay2 cannot stack on overlayfs).
FROM debian:trixie-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    docker.io docker-cli docker-compose openssh-server socat curl iptables ca-certificates procps \
  && rm -rf /var/lib/apt/lists/*
COPY entrypoint.sh /usr/local/bin/node-entrypoint
ENTRYPOINT ["/usr/local/bin/node-entrypoint"]
