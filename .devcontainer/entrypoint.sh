#!/bin/sh
# Gives the `bun` user the group that owns the mounted Docker socket (its gid differs from host to host),
# then runs the service's command as `bun`. Exec sessions (`devcontainer exec`, VS Code terminals) pick up
# the group too, because Docker resolves supplementary groups from /etc/group at exec time.
set -eu
socket=/var/run/docker.sock
if [ -S "$socket" ]; then
  gid=$(stat -c %g "$socket")
  group=$(getent group "$gid" | cut -d: -f1)
  if [ -z "$group" ]; then
    group=docker-host
    groupadd --gid "$gid" "$group"
  fi
  usermod --append --groups "$group" bun
fi
exec setpriv --reuid=bun --regid=bun --init-groups -- "$@"
