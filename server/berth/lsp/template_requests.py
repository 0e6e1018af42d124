"""The template requests: building templates, listing and updating the ones Berth built
(protocol.md, "Templates Berth builds")."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from berth.engine.template_build import Cancel
from berth.errors import BadInput
from berth.lsp.sandbox_requests import Handler, bool_param, only, string_list, text_param

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.server import BerthServer, Workers

log = logging.getLogger(__name__)
_TOKEN = "workDoneToken"


class TemplateRequests:
    def __init__(self, server: BerthServer, engine: Engine, workers: Workers) -> None:
        self._server = server
        self._engine = engine
        self._workers = workers

    def handlers(self) -> dict[str, Handler]:
        return {
            "sandbox/buildTemplate": self.build,
            "sandbox/templates": self.templates,
            "sandbox/updateTemplates": self.update,
        }

    async def build(self, params: dict[str, Any]) -> Any:
        only(params, ("agents", "tag", "base", "hostCertificates", _TOKEN))
        agents = (string_list(params["agents"], "agents") if params.get("agents") is not None
                  else [])
        if not agents:
            raise BadInput("'agents' must name at least one agent, like [\"claude\"].",
                           field="agents")
        tag, base = text_param(params, "tag"), text_param(params, "base")
        certs = _optional_bool(params, "hostCertificates")
        title = f"Building a template for {', '.join(agents)}"
        built = await self._with_progress(title, params.get(_TOKEN), lambda report, cancel:
                                          self._engine.build_template(
                                              agents, tag=tag, base=base,
                                              host_certificates=certs, progress=report,
                                              cancel=cancel))
        return built.to_json()

    async def templates(self, params: dict[str, Any]) -> Any:
        only(params, ())
        found = await self._workers.engine(self._engine.templates)
        return {"templates": [t.to_json() for t in found]}

    async def update(self, params: dict[str, Any]) -> Any:
        only(params, ("tags", "hostCertificates", _TOKEN))
        tags = string_list(params["tags"], "tags") if params.get("tags") is not None else []
        certs = _optional_bool(params, "hostCertificates")
        pairs = await self._with_progress("Updating templates", params.get(_TOKEN),
                                          lambda report, cancel: self._engine.update_templates(
                                              tags, host_certificates=certs, progress=report,
                                              cancel=cancel))
        return {"updated": [{"before": old.to_json(), "after": new.to_json()}
                            for old, new in pairs]}

    async def _with_progress(self, title: str, token: Any, work: Any) -> Any:
        """Run `work(report, cancel)` on a worker with `$/progress` on the client's token (else one
        of ours, when the client takes them); `$/cancelRequest` or the progress's cancel ends it."""
        server, loop, cancel = self._server, asyncio.get_running_loop(), Cancel()
        if token is not None and not isinstance(token, (str, int)):
            raise BadInput(f"'{_TOKEN}' must be a string or a number.", field=_TOKEN)
        if token is None and _client_takes_progress(server):
            token = f"berth-{uuid.uuid4()}"
            try:
                await asyncio.wait_for(server.work_done_progress.create_async(token), 5)
            except Exception as exc:  # progress is a courtesy: a client refusing it changes nothing
                log.debug("Client refused progress: %s", exc)
                token = None
        if token is not None:
            server.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                title=title, cancellable=True))
            asked = server.work_done_progress.tokens.get(token)
            if asked is not None:  # the client's Cancel button on our progress
                asked.add_done_callback(lambda _f: _cancel_off_loop(cancel))

        def report(phase: str, message: str) -> None:
            if token is not None:
                loop.call_soon_threadsafe(server.work_done_progress.report, token,
                                          types.WorkDoneProgressReport(message=message))

        running = asyncio.ensure_future(self._workers.engine(work, report, cancel))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            # `$/cancelRequest`: the build is stopped and its end awaited, so that the answer says
            # how it ended (cancelled, nothing tagged) and nothing is reported after it.
            _cancel_off_loop(cancel)
            return await running
        finally:
            if token is not None:
                server.work_done_progress.end(token, types.WorkDoneProgressEnd())
                server.work_done_progress.tokens.pop(token, None)


def _cancel_off_loop(cancel: Cancel) -> None:
    # Never on the loop: stopping a build shuts a socket down, and nothing on the loop may wait.
    threading.Thread(target=cancel.set, name="berth-cancel", daemon=True).start()


def _optional_bool(params: dict[str, Any], key: str) -> bool | None:
    """True, false, or None when not given (then the engine applies the config file's default)."""
    return None if params.get(key) is None else bool_param(params, key)


def _client_takes_progress(server: BerthServer) -> bool:
    caps = server.client_capabilities.window if server.client_capabilities else None
    return bool(caps is not None and caps.work_done_progress)
