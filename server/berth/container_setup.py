"""What runs inside a sandbox container: its idle main process, the one-time setup after creation, and
the hand-over of the shared credentials volume to the sandbox whose agent runs next.

Kept as POSIX sh so that any template with a shell works, from Docker's Ubuntu templates to a busybox
image. Both scripts run as root. Everything in the credentials volume was written by some sandbox's
agent, so it is treated as hostile: no link in it is ever followed (`find -P`, `chown -h`, tests with
`-L` before writing), and no command crosses into another mount (`-xdev`).
"""

from __future__ import annotations

from berth.agent_hooks import CLAUDE_DROP_IN, EVENTS, NOTIFY

# The container's main process: idle until stopped, and quick to stop (SIGTERM ends it at once). It
# also makes the FIFO the agents' hooks write to (writable by the agent's user, readable by root) and
# copies each line written there to its output, the container's own log, which the server follows
# (berth.agent_hooks): the one way out it gives is into the sandbox's own log.
# Its first and last lines in the log say when the sandbox started and was asked to stop, beside the
# setup's and the agent sessions' own (`berth: <UTC time> ...`: what Show Logs and `berth logs` show).
IDLE_ENTRYPOINT = ["/bin/sh", "-c", (
    "say() { echo \"berth: $(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null) $*\"; }; "
    "say 'sandbox started'; "
    "trap 'say \"sandbox stopping\"; exit 0' TERM INT; "
    "{ mkdir -p /run/berth && { [ -p " + EVENTS + " ] || mkfifo -m 622 " + EVENTS + "; }; } "
    "2>/dev/null; "
    "(while :; do if [ -p " + EVENTS + " ]; then cat " + EVENTS + "; else sleep 5; fi; "
    "done 2>/dev/null) & "
    "while :; do sleep 86400 & wait $!; done")]

# Written by SETUP_SCRIPT once the sandbox is set up (root-owned: the agent user cannot fake it).
SETUP_DONE = "/etc/berth-setup.done"
# Where the host's ~/.gitconfig and ~/.ssh are mounted, read-only, with credentials=host.
HOST_CREDENTIALS_MOUNT = "/mnt/host-credentials"
DOCKER_SOCKET = "/var/run/docker.sock"
# The host's CA bundle, copied in at setup with hostCertificates (a copy, not a mount: the engine may
# be on another machine than the bundle).
HOST_CA_BUNDLE = "/etc/berth/host-ca-certificates.crt"
# In the credentials volume: a folder named for the container that last took the volume over. Which
# sandbox owns the volume's files decides whose agent can read the login (agents write it mode 600).
OWNER_MARKER = ".berth-owner-"

# $1 volume mount  $2 user  $3 this container's short id. Gives every file in the volume to the agent
# user (only those not already its own, so a second run changes nothing), then marks the volume as
# this container's.
_CLAIM = r"""
# Gives what under $1 is not already $2:$3's to it (filtered by $4..., e.g. `-user 1000`), without
# following links or crossing into any mount below $1: not with -xdev alone, since a bind mount from
# the engine host's own file system has the same device number as a volume there.
chown_tree() {
  top="$1"; to="$2:$3"; shift 3
  mps=$(awk -v t="$top" '$2 != t && index($2, t "/") == 1 {
      gsub(/\\040/, " ", $2); gsub(/\\011/, "\t", $2); gsub(/\\134/, "\\", $2); print $2 }' /proc/self/mounts 2>/dev/null)
  old_ifs=$IFS; IFS='
'
  set -- "$@" -exec chown -h "$to" {} +
  for mp in $mps; do set -- -path "$mp" -prune -o "$@"; done
  IFS=$old_ifs
  find "$top" -xdev "$@" 2>/dev/null
}
claim() {
  v="$1"; cu="$2"; cid="$3"
  [ -n "$v" ] && [ -d "$v" ] && [ ! -L "$v" ] || return 0
  cuid=$(id -u "$cu" 2>/dev/null || echo 0); cgid=$(id -g "$cu" 2>/dev/null || echo 0)
  chown_tree "$v" "$cuid" "$cgid" \( ! -user "$cuid" -o ! -group "$cgid" \)
  for m in "$v/"'""" + OWNER_MARKER + r"""'*; do
    if [ -L "$m" ] || [ -f "$m" ]; then rm -f "$m"; elif [ -d "$m" ]; then rmdir "$m" 2>/dev/null; fi
  done
  mkdir "$v/""" + OWNER_MARKER + r"""$cid" 2>/dev/null
  return 0
}
"""

CLAIM_SCRIPT = _CLAIM + 'claim "$1" "$2" "$3"\n'

# $1 user (name, uid or name:group)  $2 credentials volume mount or ''  $3 host credentials mount or ''
# $4 agent binary or '' (no agent: a shell)  $5 $6 uid and gid owning the workspace on the host
# $7 '1' to trust the host's CA bundle  $8 this container's short id
# $9... the agent's state: `d:PATH:VOLPATH` (a folder in the home kept in the volume, linked there) or
# `f:PATH:VOLPATH` (a file of the template's home that seeds the volume, where the agent finds it by an
# environment variable).
# Exit 127 when the agent's binary is missing. Writes SETUP_DONE when it succeeded; a second run (a
# window adopting a sandbox another created at the same moment, or a run after a crash between start and
# setup) waits for the first under a lock, then finds SETUP_DONE and does nothing.
SETUP_SCRIPT = _CLAIM + r"""
u="${1%%:*}"; cred="$2"; hostcred="$3"; bin="$4"; wuid="$5"; wgid="$6"; certs="$7"; cid="$8"
shift 8
lock=/etc/berth-setup.lock; n=0
while ! mkdir "$lock" 2>/dev/null; do
  [ -d "$lock" ] && [ "$n" -lt 100 ] || break  # unlockable /etc, or a lock left by a stop mid-setup
  n=$((n+1)); sleep 0.1 2>/dev/null || sleep 1
done
trap 'rmdir "$lock" 2>/dev/null' EXIT
[ -e """ + SETUP_DONE + r""" ] && exit 0
# What the setup says also goes to the sandbox's own log (its main process's output).
say() { printf 'berth: %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)" "$*" > /proc/1/fd/1 2>/dev/null; }
warn() { echo "berth-setup: warning: $*" >&2; say "setup warning: $*"; }
home=$(awk -F: -v u="$u" '$1==u || $3==u {print $6; exit}' /etc/passwd 2>/dev/null)
[ -n "$home" ] || home=/root
# Give the agent user the uid/gid that owns the workspace, as dev containers do, so that it can write
# the workspace and what it writes belongs to the host user. Only a named user, never onto root or onto
# a uid another user of the template already has.
# The workspace's owner as the engine's machine has it, seen from in here: on a rootful engine the
# owner's own uid (this machine's, or the engine machine's for a remote engine, which is the one that
# counts); 0 where the engine says root in the sandbox is the user on the host (rootless Docker or
# Podman, Docker Desktop: $BERTH_ROOT_IS_USER). There the agent user gets uid 0, which is what makes
# its files the user's. (Podman's keep-id would keep the user's uid, but it adds a passwd entry of its
# own for that uid, which the template's agent user then cannot take.)
seen=$(stat -c %u . 2>/dev/null || true); seeng=$(stat -c %g . 2>/dev/null || true)
# Nothing below writes relative to the workspace, and no edit of /etc follows a link in the template.
cd / || exit 1
etc_links=""; if [ -L /etc/passwd ] || [ -L /etc/group ]; then etc_links=1; fi
rootless=""; keep_uid=""
if [ -n "$seen" ] && [ "$seen" != "$wuid" ]; then
  if [ "$seen" = 0 ] && [ "${BERTH_ROOT_IS_USER:-}" = 1 ]; then
    rootless=1
  elif [ "$seen" = 65534 ]; then
    warn "the Docker engine maps user ids (userns-remap): the workspace is owned by no user inside the sandbox (uid $seen), so the agent may not be able to write it; use a rootful engine without userns-remap, rootless Docker or Podman"
  elif [ "$seen" = 0 ]; then
    warn "the workspace belongs to root on the engine's machine, so the sandbox's non-root agent user cannot write to it; open a folder your own user owns there"
    keep_uid=1
  else
    wuid=$seen; wgid=${seeng:-$seen}
  fi
fi
if [ -n "$etc_links" ]; then
  warn "the template's /etc/passwd or /etc/group is a link, which Berth does not edit, so the agent keeps the template's uid and groups"
  u_editable=""
else
  u_editable=1
fi
if [ -n "$u_editable" ] && [ -n "$rootless" ] && [ -n "$u" ] && [ "$u" != root ] && grep -q "^$u:" /etc/passwd; then
  cur=$(id -u "$u" 2>/dev/null)
  if [ -n "$cur" ] && [ "$cur" != 0 ]; then
    awk -F: -v OFS=: -v u="$u" '$1==u{$3=0;$4=0}1' /etc/passwd > /etc/passwd.berth \
      && cat /etc/passwd.berth > /etc/passwd; rm -f /etc/passwd.berth
    [ "$home" != / ] && [ -d "$home" ] && chown_tree "$home" 0 0 -user "$cur"
  fi
elif [ -n "$u_editable" ] && [ -z "$keep_uid" ] && [ -n "$u" ] && [ "$u" != root ] && [ "$wuid" != 0 ] && grep -q "^$u:" /etc/passwd; then
  cur=$(id -u "$u" 2>/dev/null)
  if [ -n "$cur" ] && [ "$cur" != "$wuid" ]; then
    if awk -F: -v id="$wuid" '$3==id{f=1} END{exit !f}' /etc/passwd; then
      warn "uid $wuid, which owns the workspace, belongs to another user of the template, so the agent ($u) keeps uid $cur and may not be able to write the workspace; use a template whose other users leave uid $wuid free, or open a folder of a user whose uid is free there"
    else
      g=$(id -gn "$u" 2>/dev/null)
      awk -F: -v OFS=: -v u="$u" -v uid="$wuid" -v gid="$wgid" '$1==u{$3=uid;$4=gid}1' /etc/passwd > /etc/passwd.berth \
        && cat /etc/passwd.berth > /etc/passwd; rm -f /etc/passwd.berth
      if [ -n "$g" ] && ! awk -F: -v id="$wgid" '$3==id{f=1} END{exit !f}' /etc/group; then
        awk -F: -v OFS=: -v g="$g" -v gid="$wgid" '$1==g{$3=gid}1' /etc/group > /etc/group.berth \
          && cat /etc/group.berth > /etc/group; rm -f /etc/group.berth
      fi
      # What the user owned in its home follows it; never across a mount (the workspace, a volume),
      # and never from `/` (a template whose user's home is the root).
      [ "$home" != / ] && [ -d "$home" ] && chown_tree "$home" "$wuid" "$wgid" -user "$cur"
    fi
  fi
fi
case "$u" in
  *[!0-9]*|"") ;;
  *) [ "$u" = "$wuid" ] || warn "the template's USER is a bare uid ($u), which Berth cannot give the workspace owner's uid $wuid, so the agent may not be able to write the workspace; use a template whose USER is a named user" ;;
esac
# The engine's socket (mountDockerSocket): the agent joins the group that owns it, whatever its id on
# the engine's machine, so that the socket the user chose to hand over works for it.
sock=/var/run/docker.sock
if [ -n "$u_editable" ] && [ -S "$sock" ] && [ -n "$u" ] && [ "$u" != root ] && grep -q "^$u:" /etc/passwd \
    && [ "$(id -u "$u" 2>/dev/null)" != 0 ]; then
  sg=$(stat -c %g "$sock" 2>/dev/null || true); sm=$(stat -c %a "$sock" 2>/dev/null || echo 0)
  if [ $(( (0$sm >> 3) & 6 )) != 6 ]; then
    warn "the engine's socket lets only its owner in (mode $sm), so the agent ($u) can use it only through sudo, where the template has it; an engine started by systemd (docker.socket, podman.socket) gives its group access"
  fi
  if [ -n "$sg" ]; then
    gname=$(awk -F: -v id="$sg" '$3==id{print $1; exit}' /etc/group)
    if [ -z "$gname" ]; then
      gname=docker-host
      awk -F: -v g="$gname" '$1==g{f=1} END{exit !f}' /etc/group && gname=berth-docker
      echo "$gname:x:$sg:" >> /etc/group
    fi
    awk -F: -v OFS=: -v g="$gname" -v u="$u" '$1==g{ if ($4=="") $4=u; else if (index("," $4 ",", "," u ",")==0) $4=$4 "," u }1' \
      /etc/group > /etc/group.berth && cat /etc/group.berth > /etc/group; rm -f /etc/group.berth
  fi
fi
owner="$(id -u "$u" 2>/dev/null || echo 0):$(id -g "$u" 2>/dev/null || echo 0)"
# $2, a folder under $1 (the home, the volume), made part by part with the agent user's ownership;
# refused where any part of the way is a link (in the volume, an agent may have planted it).
mkdirs() {
  d="$1"; rest="$2"
  [ "$rest" = . ] && return 0
  while [ -n "$rest" ]; do
    part="${rest%%/*}"; [ "$part" = "$rest" ] && rest="" || rest="${rest#*/}"
    d="$d/$part"
    [ -L "$d" ] && return 1
    [ -d "$d" ] || { mkdir "$d" && chown "$owner" "$d"; } || return 1
  done
}
if [ -n "$cred" ] && [ -d "$cred" ]; then
  chown "$owner" "$cred" 2>/dev/null
  for spec in "$@"; do
    kind="${spec%%:*}"; rest="${spec#*:}"; path="${rest%%:*}"; vpath="${rest#*:}"
    if [ "$kind" = f ]; then
      # The template's own file seeds the volume; a stored one is never overwritten.
      if [ -f "$home/$path" ] && [ ! -L "$home/$path" ] && [ ! -e "$cred/$vpath" ] && [ ! -L "$cred/$vpath" ]; then
        cp -p "$home/$path" "$cred/$vpath" && chown -h "$owner" "$cred/$vpath"
      fi
      continue
    fi
    if ! mkdirs "$cred" "$vpath"; then warn "$cred/$vpath is a link; ~/$path is not kept"; continue; fi
    target="$cred/$vpath"; [ "$vpath" = . ] && target="$cred"
    if [ -d "$home/$path" ] && [ ! -L "$home/$path" ]; then
      # The template's own agent config seeds the volume but never overwrites a stored login; the
      # template's copy goes only once everything in it is in the volume.
      copied=yes
      for f in "$home/$path"/* "$home/$path"/.[!.]* "$home/$path"/..?*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        [ -e "$target/${f##*/}" ] || [ -L "$target/${f##*/}" ] || cp -a "$f" "$target/" || copied=no
      done
      [ "$copied" = yes ] && rm -rf "$home/$path"
    fi
    parent="${path%/*}"; [ "$parent" = "$path" ] && parent=""
    if [ ! -e "$home/$path" ] && [ ! -L "$home/$path" ] && [ -d "$home" ] && { [ -z "$parent" ] || mkdirs "$home" "$parent"; }; then
      ln -s "$target" "$home/$path" && chown -h "$owner" "$home/$path" 2>/dev/null
    fi
  done
  claim "$cred" "$u" "$cid"
fi
if [ -n "$hostcred" ] && [ -d "$home" ]; then
  for f in .gitconfig .ssh; do
    if [ -e "$hostcred/$f" ] && [ ! -e "$home/$f" ]; then ln -s "$hostcred/$f" "$home/$f"; fi
  done
fi
if [ "$certs" = 1 ] && [ -f """ + HOST_CA_BUNDLE + r""" ]; then
  # Into the system store where the template has one; the variables cover the rest.
  if [ -d /usr/local/share/ca-certificates ] && command -v update-ca-certificates >/dev/null 2>&1; then
    cp """ + HOST_CA_BUNDLE + r""" /usr/local/share/ca-certificates/berth-host.crt \
      && update-ca-certificates >/dev/null 2>&1 || warn "update-ca-certificates failed"
  fi
fi
# The agents' hooks (berth.agent_hooks), from the environment the setup runs with: Berth's own files,
# which replace nothing of the template's but an earlier copy of themselves.
if [ -n "$BERTH_NOTIFY" ]; then
  mkdir -p /usr/local/bin """ + CLAUDE_DROP_IN.rsplit("/", 1)[0] + r""" 2>/dev/null
  { printf '%s' "$BERTH_NOTIFY" > """ + NOTIFY + r""" && chmod 755 """ + NOTIFY + r"""; } 2>/dev/null \
    || warn "could not install """ + NOTIFY + r""": the editor will not hear what the agent is doing"
  { printf '%s' "$BERTH_CLAUDE_HOOKS" > """ + CLAUDE_DROP_IN + r""" && chmod 644 """ + CLAUDE_DROP_IN + r"""; } 2>/dev/null \
    || warn "could not install Claude Code's hooks in """ + CLAUDE_DROP_IN + r""""
fi
if [ -n "$bin" ] && ! command -v "$bin" >/dev/null 2>&1; then
  say "setup failed: the agent's program $bin is not in this template"
  exit 127
fi
: > """ + SETUP_DONE + r"""
say "setup done: the agent runs as ${u:-root} (uid $(id -u "${u:-root}" 2>/dev/null || echo '?'))"
exit 0
"""
