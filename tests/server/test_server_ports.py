"""Ports over the protocol, against a real engine: the server notices a port the agent opens in its
sandbox, forwards it to this machine on request (whatever the port is bound to inside, loopback
included, and with any network policy), and the forward ends with the sandbox."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest
from support.images import CLAUDE

OPTIONS = {"template": CLAUDE}


def start_server(sandbox: str, port: int, body: str, bind: str = "127.0.0.1") -> float:
    """A web server in the sandbox, as the agent would start one; when it was started."""
    started = time.monotonic()
    subprocess.run(["docker", "exec", "-u", "agent", sandbox, "sh", "-c",
                    f"mkdir -p /tmp/www-{port} && echo {body} > /tmp/www-{port}/i && "
                    f"httpd -p {bind}:{port} -h /tmp/www-{port}"], check=True)
    return started


def fetch(url: str) -> str:
    with urllib.request.urlopen(f"{url}/i", timeout=5) as answer:
        return answer.read().decode().strip()


def closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"GET /i HTTP/1.0\r\n\r\n")
            return s.recv(100) == b""
    except OSError:
        return True


def listens(port: int):
    return lambda p: any(item["port"] == port for item in p["listening"])


@pytest.mark.parametrize("policy", ["balanced", "open"])
async def test_a_port_the_agent_opens_is_noticed_forwarded_on_request_and_ends_with_the_sandbox(
        sessions, workspace, policy):
    s = await sessions([workspace], options={**OPTIONS, "networkPolicy": policy})
    await s.wait_status(workspace, "absent")
    sandbox = (await s.request("sandbox/run", {}))["name"]
    await s.wait_ports(lambda p: p["workspace"] == workspace and p["listening"] == [])

    # Bound to the sandbox's loopback, as dev servers are by default: noticed within a second.
    start_server(sandbox, 5173, "vite-like")
    noticed = await s.wait_ports(listens(5173))
    assert noticed["listening"] == [{"port": 5173, "address": "127.0.0.1"}]
    assert noticed["forwarded"] == [] and noticed["name"] is None

    # Forwarded to the same port number on this machine's loopback, when it is free.
    mark = len(s.ports)
    forward = await s.request("sandbox/forwardPort", {"port": 5173})
    assert forward["port"] == 5173 and forward["hostIp"] == "127.0.0.1"
    assert forward["url"] == f"http://127.0.0.1:{forward['hostPort']}"
    assert fetch(forward["url"]) == "vite-like"
    said = await s.wait_ports(lambda p: p["forwarded"], after=mark)
    assert said["forwarded"] == [{k: forward[k] for k in ("port", "hostIp", "hostPort", "url")}]
    listed = await s.request("sandbox/ports", {})
    assert [f["hostPort"] for f in listed["forwarded"]] == [forward["hostPort"]]
    assert {"port": 5173, "address": "127.0.0.1"} in listed["listening"]
    # Asked again: the same forward, not another.
    assert (await s.request("sandbox/forwardPort", {"port": 5173}))["hostPort"] \
        == forward["hostPort"]

    # The sandbox stops: the forward ends with it, and clients hear it has no ports.
    mark = len(s.ports)
    await s.request("sandbox/stop", {})
    await s.wait_ports(lambda p: p["listening"] == [] and p["forwarded"] == [], after=mark)
    assert closed(forward["hostPort"])


async def test_a_taken_host_port_gets_another_and_a_named_one_is_a_clear_error(
        sessions, workspace):
    s = await sessions([workspace], options=OPTIONS)
    sandbox = (await s.request("sandbox/run", {}))["name"]
    start_server(sandbox, 8000, "eight-thousand", bind="0.0.0.0")
    holder = socket.create_server(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    try:
        start_server(sandbox, taken, "same-number")
        moved = await s.request("sandbox/forwardPort", {"port": taken})
        assert moved["hostPort"] != taken and fetch(moved["url"]) == "same-number"
        error = await s.error("sandbox/forwardPort", {"port": 8000, "hostPort": taken})
        assert error.code == -32004
        assert f"Host port 127.0.0.1:{taken} is already in use" in str(error.message)
    finally:
        holder.close()
    # Ending a forward.
    removed = await s.request("sandbox/unforwardPort", {"port": taken})
    assert [f["hostPort"] for f in removed["removed"]] == [moved["hostPort"]]
    assert closed(moved["hostPort"])
    missing = await s.error("sandbox/unforwardPort", {"port": 9999})
    assert missing.code == -32001 and "has no forward of port 9999" in str(missing.message)
    bad = await s.error("sandbox/forwardPort", {"port": 70000})
    assert bad.code == -32602 and "'port' must be a port number from 1 to 65535" in str(bad.message)


async def test_a_stopped_sandbox_has_no_ports_to_forward(sessions, workspace):
    s = await sessions([workspace], options=OPTIONS)
    await s.request("sandbox/run", {})
    await s.request("sandbox/stop", {})
    error = await s.error("sandbox/forwardPort", {"port": 3000})
    assert error.code == -32004 and "not running" in str(error.message)


async def test_a_sandbox_stopped_outside_berth_loses_its_forwards(sessions, workspace, docker_api):
    s = await sessions([workspace], options=OPTIONS)
    sandbox = (await s.request("sandbox/run", {}))["name"]
    start_server(sandbox, 3000, "x")
    forward = await s.request("sandbox/forwardPort", {"port": 3000})
    mark = len(s.ports)
    subprocess.run(["docker", "stop", "-t", "0", sandbox], check=True, capture_output=True)
    await s.wait_ports(lambda p: p["forwarded"] == [], after=mark)

    def helpers() -> list:
        return docker_api.containers(all=True, filters={"label": ["dev.berth.helper"]})

    deadline = time.monotonic() + 10
    while [c for c in helpers() if c["Labels"].get("dev.berth.workspace") == workspace]:
        assert time.monotonic() < deadline, "the forward outlived its sandbox"
        time.sleep(0.1)
    assert closed(forward["hostPort"])
