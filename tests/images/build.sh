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
# Static, so that it runs on busybox alone.
gcc -static -O2 -o "$ctx/socket-get" "$here/socket-get/socket-get.c"
build() {
  # The legacy builder needs no BuildKit; its deprecation notice is noise, its errors are not.
  if ! docker build -q "$@" "$ctx" >"$ctx/build.log" 2>&1; then cat "$ctx/build.log" >&2; exit 1; fi
}
build -t berth-test/claude:1 --build-arg AGENTS=claude
build -t berth-test/gemini:1 --build-arg AGENTS=gemini
build -t berth-test/both:1 --build-arg "AGENTS=claude gemini"
build -t berth-test/plain:1
build -t berth-test/claude-config:1 --build-arg AGENTS=claude --build-arg TEMPLATE_CONFIG=1
echo "built: berth-test/{claude,gemini,both,plain,claude-config}:1"
