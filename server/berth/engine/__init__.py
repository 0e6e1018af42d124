"""Berth's engine: sandbox semantics over docker-py, for both front ends (the stdio server and the CLI).

`Engine` (operations.py) is what they call; each module beside it holds one resource or concern
(README.md, Layout). Which sandboxes a request means is berth.selection's to decide.
"""

from berth.engine.operations import ROOT_WORKSPACE_WARNING, Engine, Guard
from berth.engine.setup import SOCKET_WARNING
from berth.engine.templates import Progress

__all__ = ["ROOT_WORKSPACE_WARNING", "SOCKET_WARNING", "Engine", "Guard", "Progress"]
