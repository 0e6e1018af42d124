"""Ports published at creation (`berth run -p`), against a real engine: a server the agent starts in
the sandbox is reachable from this machine, on loopback unless another address is asked for, whether
the sandbox is open or behind its network proxy (which publishes them: the engine publishes nothing
of a container on an internal network)."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from berth.errors import BadInput, Conflict
from berth.selection import Selection
from support.containers import egress_of, sandboxes_of
from support.engine import run

POLICIES = ["open", "balanced"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(engine, workspace: str, port: int, body: str) -> None:
    """A web server in the sandbox, as an agent would start one (busybox httpd daemonizes)."""
    out = engine.exec(workspace, ["sh", "-c", f"mkdir -p /tmp/www && echo {body} > /tmp/www/i "
                                              f"&& httpd -p 0.0.0.0:{port} -h /tmp/www"])
    assert out.exit_code == 0, out.stderr


def fetch(host_port: int, host: str = "127.0.0.1") -> str:
    with urllib.request.urlopen(f"http://{host}:{host_port}/i", timeout=5) as answer:
        return answer.read().decode().strip()


def refused(host_port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", host_port), timeout=3) as s:
            s.sendall(b"GET /i HTTP/1.0\r\n\r\n")
            return s.recv(100) == b""  # accepted by a relay with nothing behind it, then closed
    except OSError:
        return True


@pytest.mark.parametrize("policy", POLICIES)
def test_a_published_port_reaches_a_server_in_the_sandbox_and_stops_with_it(
        engine, workspace, docker_api, policy):
    host_port = free_port()
    result = run(engine, workspace, networkPolicy=policy, ports=[f"{host_port}:3000"])
    # Recorded as asked, on loopback: nothing else on the network can reach it.
    assert result.sandbox.config.ports == (f"127.0.0.1:{host_port}:3000",)
    assert result.sandbox.to_json()["ports"] == [f"127.0.0.1:{host_port}:3000"]
    serve(engine, workspace, 3000, "from-the-sandbox")
    assert fetch(host_port) == "from-the-sandbox"
    # The engine binds it to 127.0.0.1 only, whoever publishes it.
    publisher = (sandboxes_of(docker_api, workspace) if policy == "open"
                 else egress_of(docker_api, workspace)[0])
    bound = [b for c in publisher for b in (docker_api.inspect_container(c["Id"])["HostConfig"]
                                            ["PortBindings"] or {}).values()]
    assert bound == [[{"HostIp": "127.0.0.1", "HostPort": str(host_port)}]]

    engine.stop_selected(Selection(workspace=workspace))
    assert refused(host_port)
    run(engine, workspace, networkPolicy=policy, ports=[f"{host_port}:3000"])
    serve(engine, workspace, 3000, "again")
    assert fetch(host_port) == "again"


def test_a_filtered_sandbox_with_ports_still_reaches_nothing_but_its_proxy(
        engine, workspace, docker_api):
    host_port = free_port()
    result = run(engine, workspace, networkPolicy="locked", ports=[f"{host_port}:3000"])
    # Its one network is its internal one: publishing joined it to no other.
    networks = docker_api.inspect_container(result.sandbox.full_id)["NetworkSettings"]["Networks"]
    assert list(networks) == [f"berth-net-{result.sandbox.labels['dev.berth.egress']}"]
    out = engine.exec(workspace, ["sh", "-c", "wget -q -T 3 -O- http://1.1.1.1/ || echo no-way-out"])
    assert out.stdout.split() == ["no-way-out"]


@pytest.mark.parametrize("policy", POLICIES)
def test_a_host_port_in_use_is_a_clear_error_that_leaves_nothing_behind(
        engine, workspace, docker_api, policy):
    holder = socket.create_server(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    try:
        with pytest.raises(Conflict) as caught:
            run(engine, workspace, networkPolicy=policy, ports=[f"{taken}:3000"])
    finally:
        holder.close()
    assert f"Host port 127.0.0.1:{taken} is already in use" in caught.value.message
    assert sandboxes_of(docker_api, workspace) == []
    assert egress_of(docker_api, workspace) == ([], [])


def test_recreating_a_sandbox_keeps_its_port_and_a_failed_recreate_gives_it_back(
        engine, workspace):
    host_port = free_port()
    first = run(engine, workspace, networkPolicy="open", ports=[f"{host_port}:3000"])
    # The new sandbox needs the port the old one holds: the old one lets go of it first.
    second = run(engine, workspace, networkPolicy="open", ports=[f"{host_port}:3000"],
                 memory="256m", recreate=True)
    assert second.sandbox.full_id != first.sandbox.full_id
    serve(engine, workspace, 3000, "recreated")
    assert fetch(host_port) == "recreated"
    # A recreate that fails (no GPU runtime here) leaves the old one running, with its port.
    with pytest.raises(BadInput, match="cannot give containers GPUs"):
        run(engine, workspace, networkPolicy="open", ports=[f"{host_port}:3000"], gpus="all",
            recreate=True)
    assert engine.find(workspace).full_id == second.sandbox.full_id
    assert engine.find(workspace).state == "running"
    serve(engine, workspace, 3000, "kept")
    assert fetch(host_port) == "kept"


def test_other_ports_are_drift_until_recreated(engine, workspace):
    host_port, other = free_port(), free_port()
    run(engine, workspace, ports=[f"{host_port}:3000"])
    again = run(engine, workspace, ports=[f"{other}:3000"])
    assert again.drift == [{"field": "ports", "recorded": [f"127.0.0.1:{host_port}:3000"],
                            "requested": [f"127.0.0.1:{other}:3000"]}]
    # The same ports in another order, or spelt with the default address, are no change.
    assert run(engine, workspace, ports=[f"127.0.0.1:{host_port}:3000"]).drift == []


def test_every_address_only_when_asked(engine, workspace, docker_api):
    host_port = free_port()
    run(engine, workspace, networkPolicy="open", ports=[f"0.0.0.0:{host_port}:3000"])
    serve(engine, workspace, 3000, "everywhere")
    [container] = sandboxes_of(docker_api, workspace)
    bindings = docker_api.inspect_container(container["Id"])["HostConfig"]["PortBindings"]
    assert bindings == {"3000/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(host_port)}]}
    # Reachable on this machine's other addresses too: its address on the engine's bridge.
    own = docker_api.inspect_network("bridge")["IPAM"]["Config"][0]["Gateway"]
    assert fetch(host_port, host=own) == "everywhere"
