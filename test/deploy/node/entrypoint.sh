#!/bin/sh
# sshd (config and keys mounted by the test at /etc/node-ssh), a forward to the test registry, then dockerd.
set -eu
# sshd's privilege separation directory; the package's init script would create it.
mkdir -p /run/sshd
/usr/sbin/sshd -f /etc/node-ssh/sshd_config
if [ -n "${REGISTRY_PORT:-}" ]; then
  # The registry answers on 127.0.0.1:$REGISTRY_PORT here as on the test host, so one image name works on both,
  # and Docker treats a loopback registry as insecure-allowed (plain HTTP).
  socat TCP-LISTEN:"$REGISTRY_PORT",bind=127.0.0.1,fork,reuseaddr TCP:registry:5000 &
fi
# This engine's containers resolve names through the node's own address, forwarded to the test network's DNS, as a
# real server's containers use the host's resolver (Docker's 127.0.0.11 answers only inside this namespace).
ip=$(hostname -i | awk '{print $1}')
socat UDP4-RECVFROM:53,bind="$ip",fork UDP4-SENDTO:127.0.0.11:53 &
exec dockerd --host=unix:///var/run/docker.sock --dns "$ip"
