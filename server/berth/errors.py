"""Berth's error kinds. Each maps to one JSON-RPC error code and one CLI exit status."""

from __future__ import annotations

from typing import Any


class BerthError(Exception):
    """An error whose message a user can act on; never shown with a traceback."""

    kind = "internal"
    code = -32603
    exit_status = 1

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = {k: v for k, v in data.items() if v is not None}

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.data}


class BadInput(BerthError):
    kind = "badInput"
    code = -32602  # JSON-RPC "Invalid params"
    exit_status = 2


class NotFound(BerthError):
    kind = "notFound"
    code = -32001
    exit_status = 3


class EngineUnavailable(BerthError):
    kind = "engineUnavailable"
    code = -32002
    exit_status = 4


class EngineSetup(EngineUnavailable):
    """The engine cannot even be addressed: a DOCKER_HOST docker cannot parse, a context that does
    not exist, TLS files missing. Like EngineUnavailable, no sandbox can be reached, but the fix is
    in the user's Docker configuration, which the message names."""

    kind = "engineSetup"
    code = -32007
    exit_status = 9


class TemplateProblem(BerthError):
    kind = "templateProblem"
    code = -32003
    exit_status = 5


class Conflict(BerthError):
    kind = "conflict"
    code = -32004
    exit_status = 6


class EngineError(BerthError):
    kind = "engineError"
    code = -32005
    exit_status = 7


class NeedsConsent(BerthError):
    """The workspace's own settings ask for values the user has not allowed (trust.py)."""

    kind = "needsConsent"
    code = -32006
    exit_status = 8


ERROR_KINDS: tuple[type[BerthError], ...] = (
    BadInput,
    NotFound,
    EngineUnavailable,
    TemplateProblem,
    Conflict,
    EngineError,
    NeedsConsent,
    EngineSetup,
)
