#!/usr/bin/env bash
# Packages berth-0.1.0.vsix from out/extension.js and bundled/libs (build those first:
# `npm run compile -- --production` and scripts/build-bundled-libs.sh; `npm run package` does all).
# @vscode/vsce needs Node >= 22: uses .e2e/node24 (see scripts/ci-editor.sh) when the node on PATH is older.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
NODE=node
major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if (( major < 22 )); then
  NODE="$REPO/.e2e/node24/package/bin/node"
  [[ -x "$NODE" ]] || { echo "vsce needs Node >= 22; run scripts/ci-editor.sh once (it fetches Node 24 into .e2e/node24)" >&2; exit 1; }
fi
test -f out/extension.js || { echo "out/extension.js is missing: npm run compile" >&2; exit 1; }
test -f bundled/libs/berth/lsp/app.py || { echo "bundled/libs is missing: scripts/build-bundled-libs.sh" >&2; exit 1; }
version="$("$NODE" -p 'require("./package.json").version')"
out="berth-$version.vsix"
license_flag=()
[[ -f LICENSE ]] || license_flag=(--skip-license)
"$NODE" node_modules/@vscode/vsce/vsce package --no-dependencies --allow-missing-repository \
  --readme-path editor-client/README.md "${license_flag[@]}" --out "$out"
# The .vsix must hold the bundle, the server and its libraries.
python3 - "$out" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["extension/out/extension.js", "extension/package.json", "extension/bundled/libs/berth/lsp/app.py",
        "extension/bundled/libs/pygls/__init__.py", "extension/media/berth.svg"]
missing = [n for n in need if n not in names]
stray = [n for n in names if n.startswith(("extension/node_modules/", "extension/editor-client/src/", "extension/server/"))]
if missing or stray:
    sys.exit(f"{sys.argv[1]}: missing {missing}, unexpected {stray[:5]}")
print(f"{sys.argv[1]}: {len(names)} files")
PY
