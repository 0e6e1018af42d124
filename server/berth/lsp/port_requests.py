"""The port requests: what a running sandbox listens on, and forwarding its ports to this machine on
demand (protocol.md, "Ports")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from berth.config import parse_port, split_port
from berth.engine import ports
from berth.errors import BadInput
from berth.lsp.port_watch import ports_params
from berth.lsp.sandbox_requests import Handler, one_sandbox, only
from berth.selection import IDS, NAME, WORKSPACE

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.lsp.port_watch import PortWatcher
    from berth.lsp.server import Workers
    from berth.models import Sandbox


class PortRequests:
    def __init__(self, engine: Engine, folders: Folders, watcher: PortWatcher,
                 workers: Workers) -> None:
        self._engine = engine
        self._folders = folders
        self._watcher = watcher
        self._workers = workers

    def handlers(self) -> dict[str, Handler]:
        return {
            "sandbox/ports": self.ports,
            "sandbox/forwardPort": self.forward,
            "sandbox/unforwardPort": self.unforward,
        }

    async def ports(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS))
        sandbox, listening, forwarded = await self._workers.engine(self._engine.list_ports,
                                                                   one_sandbox(params, self._folders))
        return ports_params(sandbox, listening, forwarded)

    async def forward(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS, "port", "hostPort", "hostIp"))
        port = _port(params.get("port"), "port", required=True)
        host_port = _port(params.get("hostPort"), "hostPort")
        host_ip = params.get("hostIp")
        if host_ip is not None and not isinstance(host_ip, str):
            raise BadInput(f"'hostIp' must be an IP address string, got {host_ip!r:.40}.",
                           field="hostIp")
        if host_ip is not None:
            host_ip = split_port(parse_port(f"{host_ip}:1:1", "hostIp"))[0]
        sandbox, forward = await self._workers.engine(
            lambda: self._engine.forward_port(one_sandbox(params, self._folders), port, host_ip=host_ip,
                                              host_port=host_port))
        forwarded = await self._workers.engine(self._forwards_of, sandbox)
        self._watcher.forwards_changed(sandbox, forwarded)
        return {"sandbox": sandbox.id, **forward.to_json()}

    async def unforward(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS, "port", "hostPort"))
        port = _port(params.get("port"), "port")
        host_port = _port(params.get("hostPort"), "hostPort")
        if port is None and host_port is None:
            raise BadInput("Give 'port' (the sandbox's) or 'hostPort' (this machine's).")
        sandbox, gone = await self._workers.engine(self._engine.unforward_port,
                                                   one_sandbox(params, self._folders), port, host_port)
        forwarded = await self._workers.engine(self._forwards_of, sandbox)
        self._watcher.forwards_changed(sandbox, forwarded)
        return {"sandbox": sandbox.id, "removed": [f.to_json() for f in gone]}

    def _forwards_of(self, sandbox: Sandbox) -> list[ports.Forward]:
        return ports.forwards(self._engine.api, sandbox)



def _port(value: Any, name: str, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise BadInput(f"'{name}' must be a port number from 1 to 65535, got {value!r:.40}.",
                       field=name)
    return value
