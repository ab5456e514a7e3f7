#!/bin/sh
# The dev container's entrypoint, run as root: lets `bun` write the checkout and the node_modules volume and use the
# host's Docker socket, then runs the service's command as `bun`. Exec sessions (`devcontainer exec`, VS Code
# terminals) run as `bun` too, with the same uid and groups: Docker reads /etc/passwd and /etc/group at exec time.
set -eu
workspace=$(dirname "$(dirname "$(readlink -f "$0")")")

# A checkout `bun` cannot write, typically root's (a VM used as root, a CI runner): `bun` takes its owner's uid and
# gid, so files written in the container belong to the host user. updateRemoteUserUID does the same when the image
# is built, for any host uid but 0; this is the same /etc/passwd edit, for the case it skips.
if ! setpriv --reuid=bun --regid=bun --init-groups test -w "$workspace"; then
  owner=$(stat -c %u:%g "$workspace")
  sed -i "s/^bun:\([^:]*\):[0-9]*:[0-9]*:/bun:\1:${owner}:/" /etc/passwd
fi

# A new named volume is root's; it holds only what `bun install` writes in here, so it belongs to bun.
modules="$workspace/node_modules"
if [ "$(stat -c %u "$modules")" != "$(id -u bun)" ]; then chown -R "$(id -u bun):$(id -g bun)" "$modules"; fi

# The socket's group id differs from host to host: give `bun` that group, under whatever name it has here.
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
# The primary group by number: after the edit above it need not be the group named bun.
exec setpriv --reuid=bun --regid="$(id -g bun)" --init-groups -- "$@"
