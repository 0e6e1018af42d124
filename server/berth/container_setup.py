"""What runs inside a sandbox container: its idle main process and the one-time setup after creation.

Kept as POSIX sh so that any template with a shell works, from Docker's Ubuntu templates to a busybox
image. The setup runs as root once, when a new container first starts, before anyone attaches.
"""

from __future__ import annotations

# The container's main process: idle until stopped, and quick to stop (SIGTERM ends it at once).
IDLE_ENTRYPOINT = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done"]

# $1 user (name, uid or name:group)  $2 agent's config dir in home  $3 credentials volume mount or ''
# $4 host credentials mount or ''  $5 agent binary.  Exit 127 when the agent's binary is missing.
SETUP_SCRIPT = r"""
u="${1%%:*}"; cfg="$2"; cred="$3"; hostcred="$4"; bin="$5"
home=$(awk -F: -v u="$u" '$1==u || $3==u {print $6; exit}' /etc/passwd 2>/dev/null)
[ -n "$home" ] || home=/root
owner="$(id -u "$u" 2>/dev/null || echo 0):$(id -g "$u" 2>/dev/null || echo 0)"
if [ -n "$cred" ] && [ -d "$cred" ]; then
  # A fresh named volume is root-owned: the agent user must be able to write its login there.
  chown "$owner" "$cred" 2>/dev/null
  if [ -d "$home/$cfg" ] && [ ! -L "$home/$cfg" ]; then
    # The template's own agent config seeds the volume but never overwrites a stored login.
    cp -a -n "$home/$cfg/." "$cred/" 2>/dev/null
    rm -rf "$home/$cfg"
  fi
  if [ ! -e "$home/$cfg" ] && [ -d "$home" ]; then
    ln -s "$cred" "$home/$cfg" && chown -h "$owner" "$home/$cfg" 2>/dev/null
  fi
fi
if [ -n "$hostcred" ] && [ -d "$home" ]; then
  for f in .gitconfig .ssh; do
    if [ -e "$hostcred/$f" ] && [ ! -e "$home/$f" ]; then ln -s "$hostcred/$f" "$home/$f"; fi
  done
fi
command -v "$bin" >/dev/null 2>&1 || exit 127
exit 0
"""

# Where the host's ~/.gitconfig and ~/.ssh are mounted, read-only, with credentials=host.
HOST_CREDENTIALS_MOUNT = "/mnt/host-credentials"
DOCKER_SOCKET = "/var/run/docker.sock"
