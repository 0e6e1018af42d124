#!/usr/bin/env bash
# Builds Berth's session holder (server/berth/session_tool/berth-session.c) for this machine's
# architecture, static, so that it runs in any template: server/berth/session_tool/bin/berth-session-$(uname -m).
# Does nothing when the binary is newer than its source. Needs gcc and a static C library (Debian:
# gcc, libc6-dev), which scripts/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/../server/berth/session_tool"
out="bin/berth-session-$(uname -m)"
if [ -x "$out" ] && [ "$out" -nt berth-session.c ]; then exit 0; fi
mkdir -p bin
gcc -static -Os -s -Wall -Wno-format-truncation -Werror -o "$out.tmp" berth-session.c
mv "$out.tmp" "$out"
