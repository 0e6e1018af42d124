#!/usr/bin/env bash
# Sets everything up (Docker engine, .venv, test templates, a real agent template, Node and VS Code
# for the editor tests) and runs every test: lint, unit, engine, server, CLI, the real agents,
# reliability, then the VS Code extension.
# Any failing step fails the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
start=$(date +%s)

BERTH_TEST_DEPS=1 bash scripts/setup.sh

# Other editors' built-in LSP clients, to prove the protocol works beyond VS Code; a registry.
missing=()
command -v nvim >/dev/null 2>&1 || missing+=(neovim)
command -v emacs >/dev/null 2>&1 || missing+=(emacs-nox)
[ -f /usr/share/emacs/site-lisp/elpa/eglot-1.9/eglot.el ] || missing+=(elpa-eglot)
# A real registry on loopback, to test pulling a missing template.
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing ${missing[*]} from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

# Other engines for tests/engines: OpenSSH, Podman, rootless Docker's parts.
bash scripts/engine-deps.sh

say "ruff"
.venv/bin/ruff check

say "Building the offline test templates"
bash tests/images/build.sh

# The real agents (Claude Code, Codex, Gemini CLI, OpenCode, Copilot CLI) from npm on a debootstrapped
# Debian: a few minutes cold, cached by its recipe's hash on this engine after that.
say "Building the real agent template (berth-test/agents:1)"
t0=$(date +%s)
bash tests/images/real/build.sh
say "  real agent template ready in $(( $(date +%s) - t0 )) s"

# pytest exits 5 when it collected nothing: with `set -e` that fails the run, as it must.
say "Python tests (unit, engine, server, CLI, real agents, network, git, Neovim and Emacs clients, other engines, reliability)"
.venv/bin/pytest -p no:cacheprovider -q -m "not engine_restart" \
  tests/unit tests/engine tests/server tests/cli tests/agents tests/network tests/git tests/editors \
  tests/engines tests/reliability

say "Engine-restart tests (they stop and restart dockerd, so they run last and alone)"
.venv/bin/pytest -p no:cacheprovider -q -m engine_restart tests/reliability

say "VS Code extension: unit tests, package, end-to-end in code-server"
bash scripts/ci-editor.sh

say "All tests passed in $(( $(date +%s) - start )) s"
