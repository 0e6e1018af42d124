#!/usr/bin/env bash
# Sets up Berth on this machine: a Docker engine (installed and started when none answers), and a
# Python 3.11 virtualenv in .venv with Berth and its pinned dependencies. Safe to run again.
#   BERTH_TEST_DEPS=1  also install the test tools (pytest, pytest-lsp, hypothesis, ruff).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
# Berth's session holder is C, built static (scripts/build-session-tool.sh).
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
ls /usr/lib/*/libc.a >/dev/null 2>&1 || need_apt+=(libc6-dev)
# Where no registry answers, `berth template build` makes its Debian base from the archive with it.
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need_apt+=(debian-archive-keyring)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "Installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  say "Starting dockerd (log: /tmp/dockerd.log)"
  setsid dockerd >/tmp/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /tmp/dockerd.log:" >&2; tail -20 /tmp/dockerd.log >&2; exit 1; }
fi

python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python=$candidate; break
  fi
done
[ -n "$python" ] || { echo "Berth needs Python 3.11 (python3.11 on PATH)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  say "Creating .venv with $python"
  "$python" -m venv .venv
fi
extra=""
[ "${BERTH_TEST_DEPS:-0}" = 1 ] && extra="[test]"
say "Building Berth's session holder"
bash scripts/build-session-tool.sh
say "Installing Berth into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"
say "Ready: .venv/bin/berth and .venv/bin/berth-server"
