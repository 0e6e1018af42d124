"""A running sandbox's ports: which it listens on, and forwarding them to this machine on demand,
through helper containers of Berth's own (berth.network.portal says how they work).

Everything is in Docker: the portal and each forward are containers labelled with the sandbox's id, so
the CLI, a restarted server and every editor window see the same forwards. They end with the sandbox:
whatever stops or removes it through Berth removes them, and the server removes those of a sandbox the
engine says stopped; a sandbox started again finds none left over (collected at its start).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from berth import labels
from berth.config import parse_port, split_port
from berth.engine.connection import call, create_container, remove_container
from berth.engine.resources import ports_problem
from berth.engine.templates import Progress
from berth.errors import BadInput, BerthError, Conflict, EngineError, NotFound
from berth.models import Sandbox
from berth.network import portal

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

# The network forwards sit on: one of their own, on which containers cannot reach each other (the
# engine's default bridge lets every container reach every other, and another sandbox there could
# then reach this one's loopback through its forward). The engine's published port still leads in.
FORWARD_NETWORK = "berth-forwards"
# The portal's first line (its listening ports) comes within a poll of its start.
_FIRST_LINE_WAIT = 10.0
_HELPER_LIMITS = {"pids_limit": 300, "mem_limit": "64m", "cap_drop": ["ALL"],
                  "security_opt": ["no-new-privileges"], "read_only": True, "privileged": False,
                  "log_config": {"type": "json-file", "config": {"max-size": "1m", "max-file": "2"}}}


@dataclass(frozen=True)
class Forward:
    """A forwarded port: the sandbox's `port`, reachable at `host_ip:host_port` on this machine."""

    port: int
    host_ip: str
    host_port: int
    container: str  # the forward's container id

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host_ip in ("0.0.0.0", "") else self.host_ip
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.host_port}"

    def to_json(self) -> dict[str, Any]:
        return {"port": self.port, "hostIp": self.host_ip, "hostPort": self.host_port,
                "url": self.url}


def portal_name(sandbox: Sandbox) -> str:
    return f"berth-portal-{sandbox.id}"


def _volume(sandbox: Sandbox) -> str:
    return f"berth-portal-{sandbox.id}"


def _tags(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    return {labels.HELPER_OF: sandbox.full_id, labels.WORKSPACE: sandbox.workspace, **extra}


def _helpers(api: docker.APIClient, sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    return call("Listing the sandbox's port helpers", api.containers, all=True,
                filters={"label": [f"{labels.HELPER_OF}={sandbox.full_id}",
                                   f"{labels.HELPER}={kind}"]})


def _require_running(sandbox: Sandbox) -> None:
    if sandbox.status != "running":
        raise Conflict(f"The sandbox {sandbox.name} is {sandbox.status}, not running: its ports "
                       "can be forwarded once it runs.", value=sandbox.status)


def ensure_portal(api: docker.APIClient, sandbox: Sandbox, image: str) -> str:
    """The running portal of the running sandbox: its container id. A portal is of one run of the
    sandbox (its start time is on it): one left from an earlier run (a `docker restart` with no
    Berth looking) sits in a network namespace that is gone, and is made anew."""
    _require_running(sandbox)
    started = str(((call(f"Inspecting sandbox {sandbox.name}", api.inspect_container,
                         sandbox.full_id).get("State") or {}).get("StartedAt")) or "")
    for found in _helpers(api, sandbox, "portal"):
        if found["State"] == "running" and found["Labels"].get(labels.HELPER_RUN) == started:
            return str(found["Id"])
        remove_container(api, found["Id"], "Removing a port helper of an earlier run")
    call("Creating the portal volume", api.create_volume, _volume(sandbox),
         labels=_tags(sandbox))
    made = create_container(
        api, f"Creating the port helper of {sandbox.name}", image=image,
        name=portal_name(sandbox), entrypoint=["python3", "-m", "berth.network.portal", "serve"],
        user="nobody", labels=_tags(sandbox, **{labels.HELPER: "portal", labels.HELPER_RUN: started}),
        detach=True,
        host_config=api.create_host_config(
            network_mode=f"container:{sandbox.full_id}",
            binds={_volume(sandbox): {"bind": portal.MOUNT, "mode": "rw"}}, **_HELPER_LIMITS))
    if made is None:  # another window made it this moment; the engine may not list it yet
        deadline = time.monotonic() + 5
        while not (found := _helpers(api, sandbox, "portal")):
            if time.monotonic() > deadline:
                raise Conflict(f"The name {portal_name(sandbox)!r} is taken by a container that "
                               "is not this sandbox's port helper.", value=portal_name(sandbox))
            time.sleep(0.05)
        return str(found[0]["Id"])
    try:
        call(f"Starting the port helper of {sandbox.name}", api.start, made)
    except BerthError:
        remove_container(api, made, "Removing a port helper that did not start")
        raise
    return made


def listening(api: docker.APIClient, sandbox: Sandbox, image: str) -> list[dict[str, Any]]:
    """The TCP ports the sandbox listens on now, from its portal (made when it has none)."""
    helper = ensure_portal(api, sandbox, image)
    state = parse_line(_first_line(api, helper, f"The port helper of {sandbox.name}"))
    if state is None:
        raise EngineError(f"The port helper of {sandbox.name} answered something else than its "
                          "listening ports.")
    return state


def _first_line(api: docker.APIClient, helper: str, what: str) -> bytes:
    """The helper's latest output once it has said something (it listens then)."""
    deadline = time.monotonic() + _FIRST_LINE_WAIT
    for attempt in itertools.count():
        out = call(f"Reading the log of {what}", api.logs, helper, stdout=True, stderr=False,
                   tail=1)
        if out.strip():
            return out
        ended = attempt % 10 == 9 and not call(
            f"Looking at {what}", api.inspect_container, helper)["State"]["Running"]
        if ended or time.monotonic() > deadline:
            said = call(f"Reading the log of {what}", api.logs, helper, stdout=True,
                        stderr=True, tail=3).decode("utf-8", "replace").strip()
            raise EngineError(f"{what} did not start{' (it exited)' if ended else ''}: "
                              f"{' | '.join(said.splitlines()) or 'it said nothing'}")
        time.sleep(0.02)
    raise AssertionError("unreachable")


def parse_line(raw: bytes | str) -> list[dict[str, Any]] | None:
    """A portal log line's listening ports, or None when it is not one. Written by the sandbox's
    own kernel tables, but bounded and checked all the same."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    for line in reversed(text.strip().splitlines()):
        if line[:4].isdigit():  # the engine's timestamp, when followed
            line = line.partition(" ")[2]
        try:
            data = json.loads(line)
        except ValueError:
            continue
        items = data.get("listening") if isinstance(data, dict) else None
        if isinstance(items, list):
            return [{"port": int(i["port"]), "address": str(i["address"])[:64]}
                    for i in items[:portal.MAX_PORTS]
                    if isinstance(i, dict) and isinstance(i.get("port"), int)]
    return None


def forwards(api: docker.APIClient, sandbox: Sandbox) -> list[Forward]:
    out = []
    for c in _helpers(api, sandbox, "forward"):
        if c["State"] != "running":
            continue
        for binding in c.get("Ports") or []:
            if binding.get("PrivatePort") == portal.FORWARD_PORT and binding.get("PublicPort"):
                out.append(Forward(int(c["Labels"].get(labels.FORWARDED_PORT, 0)),
                                   str(binding.get("IP") or "0.0.0.0"), int(binding["PublicPort"]),
                                   str(c["Id"])))
                break
    return sorted(out, key=lambda f: (f.port, f.host_port))


def parse_forward(spec: Any) -> tuple[str | None, int | None, int]:
    """`PORT`, `HOST_PORT:PORT` or `HOST_IP:HOST_PORT:PORT`: (host address or None, host port or
    None, the sandbox's port). Without a host port, the sandbox's own number is tried first."""
    text = str(spec).strip() if isinstance(spec, (str, int)) and not isinstance(spec, bool) else ""
    if text.isdigit() and 1 <= int(text) <= 65535:
        return None, None, int(text)
    try:
        if ":" not in text:
            raise BadInput("")
        ip, host, port = split_port(parse_port(text, "port"))
    except BadInput as exc:
        why = exc.message.split(": ", 1)[1].rstrip(".") if ": " in exc.message else ""
        raise BadInput(f"Port {str(spec)[:60]!r} is not a port to forward: give PORT, "
                       f"HOST_PORT:PORT or HOST_IP:HOST_PORT:PORT{f' ({why})' if why else ''}.",
                       field="port", value=str(spec)[:60]) from None
    explicit_ip = text.count(":") >= 2
    return (ip if explicit_ip else None), host, port


def forward(api: docker.APIClient, sandbox: Sandbox, port: int, image: str, *,
            host_ip: str | None = None, host_port: int | None = None) -> Forward:
    """Forward the running sandbox's `port` to `host_ip` (127.0.0.1 unless given) at `host_port`:
    by default the same number, else one the engine picks when that is taken. A port forwarded
    already (on that address, and that host port when one is given) is returned as it is."""
    if not 1 <= port <= 65535:
        raise BadInput(f"Port {port} is not from 1 to 65535.", field="port", value=str(port))
    ip = host_ip or "127.0.0.1"
    for existing in forwards(api, sandbox):
        if existing.port == port and existing.host_ip == ip and host_port in (None,
                                                                               existing.host_port):
            return existing
    ensure_portal(api, sandbox, image)
    tries = [host_port] if host_port is not None else [port, 0]
    for n, chosen in enumerate(tries):
        try:
            return _publish(api, sandbox, port, image, ip, chosen)
        except Conflict:
            if n == len(tries) - 1:
                raise
    raise AssertionError("unreachable")


def _forward_network(api: docker.APIClient) -> str:
    """FORWARD_NETWORK, made the first time; a network of that name that is not Berth's is left
    alone, and said."""
    found = call("Looking up the forwards' network", api.networks, names=[FORWARD_NETWORK])
    mine = [n for n in found if n.get("Name") == FORWARD_NETWORK]
    if mine and (mine[0].get("Labels") or {}).get(labels.HELPER) != "network":
        raise Conflict(f"A network named {FORWARD_NETWORK!r} exists that Berth did not make; "
                       "Berth forwards ports on a network of that name. Remove or rename it.",
                       value=FORWARD_NETWORK)
    if not mine:
        # Made by another Berth this moment, perhaps: a real failure shows at the create.
        with contextlib.suppress(Conflict, EngineError):
            call("Making the forwards' network", api.create_network, FORWARD_NETWORK,
                 driver="bridge", check_duplicate=True, labels={labels.HELPER: "network"},
                 options={"com.docker.network.bridge.enable_icc": "false"})
    return FORWARD_NETWORK


def _publish(api: docker.APIClient, sandbox: Sandbox, port: int, image: str, ip: str,
             host_port: int) -> Forward:
    network = _forward_network(api)
    made = create_container(
        api, f"Forwarding port {port} of {sandbox.name}", image=image,
        entrypoint=["python3", "-m", "berth.network.portal", "publish", str(port)],
        user="nobody", detach=True, ports=[portal.FORWARD_PORT],
        labels=_tags(sandbox, **{labels.HELPER: "forward", labels.FORWARDED_PORT: str(port)}),
        host_config=api.create_host_config(
            network_mode=network,
            port_bindings={portal.FORWARD_PORT: (ip, host_port or None)},
            binds={_volume(sandbox): {"bind": portal.MOUNT, "mode": "rw"}}, **_HELPER_LIMITS))
    if made is None:
        raise EngineError(f"Could not create the forward of port {port}.")
    try:
        call(f"Forwarding port {port} of {sandbox.name}", api.start, made)
        _first_line(api, made, f"The forward of port {port}")
        info = call("Reading the forward's port", api.inspect_container, made)
    except EngineError as exc:
        remove_container(api, made, "Removing a forward that did not start")
        raise ports_problem(exc, (f"{ip}:{host_port}:{port}",)) or exc from None
    except BaseException:
        remove_container(api, made, "Removing a forward that did not start")
        raise
    bound = ((info.get("NetworkSettings") or {}).get("Ports") or {}).get(
        f"{portal.FORWARD_PORT}/tcp") or [{}]
    return Forward(port, str(bound[0].get("HostIp") or ip), int(bound[0].get("HostPort") or 0),
                   made)


def unforward(api: docker.APIClient, sandbox: Sandbox, port: int | None = None,
              host_port: int | None = None) -> list[Forward]:
    """Stop forwarding the sandbox's `port` (every forward of it), or the one at `host_port`."""
    gone = [f for f in forwards(api, sandbox)
            if (port is None or f.port == port) and (host_port is None or f.host_port == host_port)]
    if not gone:
        what = f"port {port}" if port is not None else f"host port {host_port}"
        raise NotFound(f"The sandbox {sandbox.name} has no forward of {what}.", field="port")
    for f in gone:
        remove_container(api, f.container, f"Ending the forward of port {f.port}")
    return gone


def follow(api: docker.APIClient, sandbox: Sandbox, image: str) -> Any:
    """The running sandbox's listening ports as they change: its portal's log (made when it has
    none), from its latest line on, as a stream of timestamped lines (parse_line reads each) that
    ends when the portal does; close() ends it early."""
    helper = ensure_portal(api, sandbox, image)
    return call(f"Following the ports of {sandbox.name}", api.logs, helper, stdout=True,
                stderr=False, timestamps=True, stream=True, follow=True, tail=1)


def remove_all(api: docker.APIClient, sandbox: Sandbox) -> None:
    """The sandbox's portal, forwards and portal volume: when it stops or is removed, and before
    it starts (what a stop outside Berth left)."""
    try:
        helpers = call("Listing the sandbox's port helpers", api.containers, all=True,
                       filters={"label": [f"{labels.HELPER_OF}={sandbox.full_id}"]})
        for c in helpers:
            remove_container(api, c["Id"], "Removing a port helper")
        _remove_volumes(api, [sandbox.full_id])
    except BerthError as exc:
        log.error("Could not remove the port helpers of %s: %s", sandbox.name, exc.message)


def _remove_volumes(api: docker.APIClient, sandbox_ids: list[str]) -> None:
    """The portal volumes of these sandboxes: only those carrying Berth's label for them."""
    volumes = call("Listing portal volumes", api.volumes,
                   filters={"label": [labels.HELPER_OF]}).get("Volumes") or []
    for volume in volumes:
        if (volume.get("Labels") or {}).get(labels.HELPER_OF) in sandbox_ids:
            with contextlib.suppress(NotFound, EngineError):
                call("Removing a portal volume", api.remove_volume, volume["Name"], force=True)


def collect_orphans(api: docker.APIClient) -> None:
    """Remove the helpers (and portal volumes) of sandboxes that are gone: removed by something
    other than Berth (`docker rm -f`) while no server was there to follow them."""
    try:
        helpers = call("Listing port helpers", api.containers, all=True,
                       filters={"label": [labels.HELPER_OF]})
        if not helpers:
            return
        alive = {c["Id"] for c in call("Listing sandboxes", api.containers, all=True,
                                        filters=labels.marker_filter())}
        gone = {c["Labels"][labels.HELPER_OF] for c in helpers} - alive
        for c in helpers:
            if c["Labels"][labels.HELPER_OF] in gone:
                remove_container(api, c["Id"], "Removing the port helper of a removed sandbox")
        _remove_volumes(api, sorted(gone))
    except BerthError as exc:
        log.warning("Could not look for the port helpers of removed sandboxes: %s", exc.message)


def image(api: docker.APIClient, progress: Progress) -> str:
    """The helpers' image: the network proxy's (Berth's relay and portal on Python)."""
    from berth.engine import egress

    return egress.ensure_image(api, progress)
