#!/usr/bin/env bash
# Builds Berth's test templates offline from Debian's static busybox. Idempotent; about a second each.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
[ -n "$busybox" ] || { echo "busybox-static is required (apt-get install busybox-static)" >&2; exit 1; }
cp "$busybox" "$ctx/busybox"
cp "$here/Dockerfile" "$here/fake-agent" "$ctx/"
build() { DOCKER_BUILDKIT=0 docker build -q "$@" "$ctx" 2>&1 >/dev/null | grep -v -e DEPRECATED -e "legacy builder" -e buildx -e "^ *$" >&2 || true; }
build -t berth-test/claude:1 --build-arg AGENTS=claude
build -t berth-test/gemini:1 --build-arg AGENTS=gemini
build -t berth-test/both:1 --build-arg "AGENTS=claude gemini"
build -t berth-test/plain:1
build -t berth-test/claude-config:1 --build-arg AGENTS=claude --build-arg TEMPLATE_CONFIG=1
echo "built: berth-test/{claude,gemini,both,plain,claude-config}:1"
