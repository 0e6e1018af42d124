"""Running a real editor headless on a script that drives berth-server, and reading what it saw."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.images import CLAUDE

# The editors' own scripts (berth_client.lua, berth_client.el) stay beside their tests.
HERE = Path(__file__).parents[1] / "editors"


def drive_editor(program: str, args: list[str], workspace: str, tmp_path: Path) -> dict[str, Any]:
    """Run `program args` with the script's inputs in its environment; the script writes JSON."""
    path = shutil.which(program)
    assert path, f"{program} is part of the test set-up; scripts/test-all.sh installs it"
    out = tmp_path / "seen.json"
    env = {**os.environ, "BERTH_PYTHON": sys.executable, "BERTH_WS": workspace,
           "BERTH_TEMPLATE": CLAUDE, "BERTH_OUT": str(out), "HOME": str(tmp_path)}
    subprocess.run([path, *args], env=env, timeout=120, check=True, stdin=subprocess.DEVNULL,
                   capture_output=True)
    seen = json.loads(out.read_text())
    assert "failure" not in seen, seen.get("failure")
    return seen
