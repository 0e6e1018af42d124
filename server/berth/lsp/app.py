"""berth-server: the features built with their collaborators, wired onto the JSON-RPC server; `main`.

How a request flows: server.BerthProtocol decodes it; sandbox_requests has its handler, which asks
berth.engine (on server.Workers' threads); status publishes what changed. docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn

from berth import __version__
from berth.engine import Engine
from berth.lsp import sandbox_requests
from berth.lsp.agent_watch import AgentWatcher
from berth.lsp.auto_start import AutoStart
from berth.lsp.branch_requests import BranchRequests
from berth.lsp.engine_events import EngineEvents
from berth.lsp.folders import Folders
from berth.lsp.network_blocks import BlockNotifier
from berth.lsp.network_requests import NetworkRequests
from berth.lsp.port_requests import PortRequests
from berth.lsp.port_watch import PortWatcher
from berth.lsp.sandbox_requests import SandboxRequests
from berth.lsp.server import BerthRpcError, BerthServer, refuse_oversized
from berth.lsp.session_requests import SessionRequests
from berth.lsp.session_watch import SessionWatcher
from berth.lsp.starter import SandboxStarter
from berth.lsp.status import StatusPublisher
from berth.lsp.tasks import Background
from berth.lsp.template_requests import TemplateRequests
from berth.lsp.workspace_sync import WorkspaceSync

log = logging.getLogger("berth.server")


def build(engine: Engine | None = None) -> tuple[BerthServer, EngineEvents]:
    """The server and its features; each is handed what it works with, nothing more."""
    server = BerthServer()
    engine = engine or Engine(keep_spare=True)
    folders = Folders()
    background = Background()
    status = StatusPublisher(server.protocol.notify, folders, engine, server.workers, background)
    # A request that succeeded says the engine is (likely) back: failed status reads retry at once.
    server.answered = status.engine_answered
    starter = SandboxStarter(engine, folders, status, server.workers, server, server.warn)
    events = EngineEvents(status)
    auto_start = AutoStart(folders, status, starter, background, server.warn)
    sandbox_requests.register(server, SandboxRequests(engine, folders, status, starter,
                                                      server.workers))
    sandbox_requests.register(server, NetworkRequests(engine, folders, server.workers))
    sandbox_requests.register(server, BranchRequests(engine, folders, status, server.workers))
    status.listen(BlockNotifier(server.protocol.notify, engine, folders).status_changed)
    port_watcher = PortWatcher(server.protocol.notify, engine, folders)
    status.listen(port_watcher.status_changed)
    sandbox_requests.register(server, PortRequests(engine, folders, port_watcher, server.workers))
    sessions = SessionWatcher(server.protocol.notify, engine, server.workers, background)
    status.listen(sessions.status_changed)
    status.listen(AgentWatcher(server.protocol.notify, engine, folders,
                               on_line=sessions.log_line).status_changed)
    sandbox_requests.register(server, SessionRequests(engine, folders, sessions, server.workers))
    sandbox_requests.register(server, TemplateRequests(server, engine, server.workers))
    WorkspaceSync(server, folders, status, auto_start, events).register()
    refuse_oversized(server)
    return server, events


def _configure_logging() -> None:
    level = os.environ.get("BERTH_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pygls logs whole messages at debug level, and they may carry environment values (secrets).
    logging.getLogger("pygls").setLevel(logging.WARNING)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_DropAnsweredErrors())
    logging.getLogger("docker").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


class _DropAnsweredErrors(logging.Filter):
    """pygls logs every error it answers with a traceback; Berth's own are expected, not crashes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, BerthRpcError)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("--version", "-V"):
        print(f"berth-server {__version__}")
        return 0
    if args and args[0] in ("--help", "-h"):
        print("usage: berth-server [--version]\n\nSpeaks the protocol in protocol.md on stdin/stdout;"
              " logs to stderr (BERTH_LOG_LEVEL=DEBUG|INFO|WARNING).")
        return 0
    # Clients pass transport flags by convention (vscode-languageclient: --stdio, and
    # --clientProcessId=N); stdio is the only transport, so they change nothing.
    unknown = [a for a in args if a != "--stdio" and not a.startswith("--clientProcessId")]
    if unknown:
        print(f"berth-server: unknown argument {unknown[0]!r}; try --help", file=sys.stderr)
        return 2
    _configure_logging()
    server, events = build()
    code = 0
    try:
        server.start_io()
    except Exception:
        log.exception("berth-server stopped on an unexpected error")
        code = 1
    finally:
        events.stop()
        server.workers.shutdown()
    _exit_now(code)


def _exit_now(code: int) -> NoReturn:
    """End the process at once, whatever its worker threads are doing.

    Python's own exit joins every worker thread, and one may be in a user's hour-long `sandbox/exec`
    or in an engine call that will only time out: after `exit` the editor would wait for a process
    that no longer serves it. Nothing those threads hold needs finishing: the sandboxes, and any
    command still running in one, live on in the engine.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
