"""What runs inside a sandbox container: its idle main process and the one-time setup after creation.

Kept as POSIX sh so that any template with a shell works, from Docker's Ubuntu templates to a busybox
image. The setup runs as root once, when a new container first starts, before anyone attaches.
"""

from __future__ import annotations

# The container's main process: idle until stopped, and quick to stop (SIGTERM ends it at once).
IDLE_ENTRYPOINT = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done"]

# $1 user (name, uid or name:group)  $2 agent's config dir in home  $3 credentials volume mount or ''
# $4 host credentials mount or ''  $5 agent binary  $6 $7 uid and gid owning the workspace on the host.
# Exit 127 when the agent's binary is missing. Writes SETUP_DONE when it succeeded; a second run (a
# window adopting a sandbox another created at the same moment, or a run after a crash between start and
# setup) waits for the first under a lock, then finds SETUP_DONE and does nothing.
SETUP_SCRIPT = r"""
u="${1%%:*}"; cfg="$2"; cred="$3"; hostcred="$4"; bin="$5"; wuid="$6"; wgid="$7"
lock=/etc/berth-setup.lock; n=0
while ! mkdir "$lock" 2>/dev/null; do
  [ -d "$lock" ] && [ "$n" -lt 100 ] || break  # unlockable /etc, or a lock left by a stop mid-setup
  n=$((n+1)); sleep 0.1 2>/dev/null || sleep 1
done
trap 'rmdir "$lock" 2>/dev/null' EXIT
[ -e /etc/berth-setup.done ] && exit 0
home=$(awk -F: -v u="$u" '$1==u || $3==u {print $6; exit}' /etc/passwd 2>/dev/null)
[ -n "$home" ] || home=/root
# Give the agent user the uid/gid that owns the workspace, as dev containers do, so that it can write
# the workspace and what it writes belongs to the host user. Only a named user, never onto root or onto
# a uid another user of the template already has.
if [ -n "$u" ] && [ "$u" != root ] && [ "$wuid" != 0 ] && grep -q "^$u:" /etc/passwd; then
  cur=$(id -u "$u" 2>/dev/null)
  if [ -n "$cur" ] && [ "$cur" != "$wuid" ] && ! awk -F: -v id="$wuid" '$3==id{f=1} END{exit !f}' /etc/passwd; then
    g=$(id -gn "$u" 2>/dev/null)
    awk -F: -v OFS=: -v u="$u" -v uid="$wuid" -v gid="$wgid" '$1==u{$3=uid;$4=gid}1' /etc/passwd > /etc/passwd.berth \
      && cat /etc/passwd.berth > /etc/passwd; rm -f /etc/passwd.berth
    if [ -n "$g" ] && ! awk -F: -v id="$wgid" '$3==id{f=1} END{exit !f}' /etc/group; then
      awk -F: -v OFS=: -v g="$g" -v gid="$wgid" '$1==g{$3=gid}1' /etc/group > /etc/group.berth \
        && cat /etc/group.berth > /etc/group; rm -f /etc/group.berth
    fi
    [ -d "$home" ] && chown -R "$wuid:$wgid" "$home" 2>/dev/null
  fi
fi
owner="$(id -u "$u" 2>/dev/null || echo 0):$(id -g "$u" 2>/dev/null || echo 0)"
if [ -n "$cred" ] && [ -d "$cred" ]; then
  # A fresh named volume is root-owned: the agent user must be able to write its login there.
  chown "$owner" "$cred" 2>/dev/null
  if [ -d "$home/$cfg" ] && [ ! -L "$home/$cfg" ]; then
    # The template's own agent config seeds the volume but never overwrites a stored login; the
    # template's copy goes only once everything in it is in the volume.
    copied=yes
    for f in "$home/$cfg"/* "$home/$cfg"/.[!.]* "$home/$cfg"/..?*; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      [ -e "$cred/${f##*/}" ] || cp -a "$f" "$cred/" || copied=no
    done
    [ "$copied" = yes ] && rm -rf "$home/$cfg"
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
: > /etc/berth-setup.done
exit 0
"""

# Written by SETUP_SCRIPT once the sandbox is set up (root-owned: the agent user cannot fake it).
SETUP_DONE = "/etc/berth-setup.done"

# Where the host's ~/.gitconfig and ~/.ssh are mounted, read-only, with credentials=host.
HOST_CREDENTIALS_MOUNT = "/mnt/host-credentials"
DOCKER_SOCKET = "/var/run/docker.sock"
