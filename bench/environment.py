"""Where the bench runs and what it marks: paths, the project's venv, the two servers, its labels.

Every bench script imports this module before anything else: started from another Python (one without
docker-py, pygls and berth), it re-runs the script in the project's `.venv`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = ROOT / ".venv"
RESULTS = HERE / "results"

try:
    import berth  # noqa: F401
    import docker  # noqa: F401
except ImportError:
    venv_python = VENV / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(venv_python), [str(venv_python), os.path.abspath(sys.argv[0]), *sys.argv[1:]])
    raise

IMAGE = "berth-test/claude:1"
# The network proxy's base: the debootstrapped Debian of Berth's tests when the engine has it (no
# registry answers on the project's machines); else Berth's default, pulled.
OFFLINE_BASE = "berth-test/debian:bookworm"
BENCH_LABEL = "dev.berth.bench"  # on every container the bench itself creates, =1
RUN_LABEL = "dev.berth.bench.run"  # which bench run created it
TMP_PREFIX = "berth-bench-"  # the bench's folder; the sandboxes it has the server create live in it

BERTH_SERVER = ([str(VENV / "bin" / "berth-server")] if (VENV / "bin" / "berth-server").exists()
                else [sys.executable, "-m", "berth.lsp.app"])
BARE_SERVER = [sys.executable, str(HERE / "bare_server.py")]
