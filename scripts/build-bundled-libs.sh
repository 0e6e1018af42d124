#!/usr/bin/env bash
# Builds bundled/libs: the Berth server (package `berth`) and its pinned dependencies, pure Python,
# for the .vsix. The extension starts the server with PYTHONPATH=<extension>/bundled/libs.
#   PYTHON=/path/to/python scripts/build-bundled-libs.sh      (default: $REPO/.venv/bin/python, else python3)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
REQS=editor-client/requirements.txt

# The pins of pyproject.toml must be the ones shipped.
"$PYTHON" - "$REQS" <<'PY'
import re, sys, tomllib
reqs = {}
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if line:
        name, _, ver = line.partition("==")
        reqs[re.sub(r"[-_.]+", "-", name).lower()] = ver
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
bad = []
for dep in deps:
    name, _, ver = dep.partition("==")
    key = re.sub(r"[-_.]+", "-", name.strip()).lower()
    if reqs.get(key) != ver.strip():
        bad.append(f"{dep} (requirements has {reqs.get(key)!r})")
if bad:
    sys.exit(f"{sys.argv[1]} disagrees with pyproject.toml: " + "; ".join(bad))
PY

rm -rf bundled/libs
mkdir -p bundled/libs
# --implementation py + --no-deps: pure-Python wheels only, so the libs run on any Python >= 3.11.
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps \
  --implementation py --only-binary=:all: -t bundled/libs -r "$REQS"
rm -rf bundled/libs/bin
# The berth package itself, from this checkout (a wheel build, not an editable install), with the
# session holder it copies into sandboxes.
bash scripts/build-session-tool.sh
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps \
  -t bundled/libs "$REPO"
rm -rf bundled/libs/bin

test -f bundled/libs/berth/lsp/app.py
test -x "bundled/libs/berth/session_tool/bin/berth-session-$(uname -m)"
test -f bundled/libs/berth/builds/recipes/base.toml
# Smoke test: the server and its dependencies import from bundled/libs alone.
PYTHONDONTWRITEBYTECODE=1 PYTHONNOUSERSITE=1 PYTHONPATH=bundled/libs "$PYTHON" -c '
import berth, berth.lsp.app, pygls, docker, requests
for m in (berth, pygls, docker, requests):
    assert "/bundled/libs/" in m.__file__, m.__file__
print("bundled/libs ok: berth", berth.__version__)'
find bundled/libs -name '__pycache__' -type d -prune -exec rm -rf {} +
