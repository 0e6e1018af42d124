#!/usr/bin/env bash
# Installs the Debian packages the other-engine tests (tests/engines, tests/support/engines.py) need:
# an OpenSSH server and client (the main engine over ssh://), openssl (the TLS certificates), iproute2
# (network namespaces and veth pairs for a second dockerd), Podman 4 with runc (crun 1.8 refuses this
# machine's hybrid cgroup layout), conmon, netavark and aardvark-dns (its network backend and container
# DNS), catatonit (the rootless pause process), and uidmap, slirp4netns and rootlesskit (rootless
# Podman and rootless Docker). Skips what is present; runs `apt-get update` only when an install fails
# (as scripts/test-all.sh does).
set -euo pipefail
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

missing=()
need() {  # need PACKAGE: add it when dpkg does not list it as installed
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$1")
}
need openssh-server
need openssh-client
need openssl
need iproute2
need podman
need runc
need conmon
need netavark
need aardvark-dns
need catatonit
need uidmap
need slirp4netns
need rootlesskit
need iptables

if [ ${#missing[@]} -gt 0 ]; then
  say "Installing ${missing[*]} from Debian"
  # openssh-server's postinst would start and enable a system sshd on port 22: the tests start
  # their own on loopback, so keep services from starting (policy-rc.d) during the install.
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  trap 'if [ -n "$made_policy" ]; then rm -f "$policy"; fi' EXIT
  install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  }
  install || { apt-get update -qq && install; }
fi
