"""The port helpers (engine.ports) against a real engine, without a server: a forward made from the
CLI's side lives in Docker until its sandbox stops, and the helpers of a sandbox removed behind
Berth's back are collected by the next create."""

from __future__ import annotations

import time
import urllib.request

from berth.selection import Selection
from support.engine import run


def helpers(docker_api, workspace: str) -> list[dict]:
    return [c for c in docker_api.containers(all=True, filters={"label": ["dev.berth.helper"]})
            if c["Labels"].get("dev.berth.workspace") == workspace]


def test_a_forward_is_state_in_docker_and_ends_with_its_sandbox(engine, workspace, docker_api,
                                                                 make_workspace):
    run(engine, workspace, networkPolicy="open")
    engine.exec(workspace, ["sh", "-c", "mkdir -p /tmp/w && echo kept > /tmp/w/i && "
                                        "httpd -p 127.0.0.1:7000 -h /tmp/w"])
    _, forward = engine.forward_port(workspace, 7000)
    # Another Engine (another process: the CLI, a restarted server) sees the same forward.
    from berth.engine import Engine

    _, listening, forwards = Engine().list_ports(workspace)
    assert {"port": 7000, "address": "127.0.0.1"} in listening
    assert [f.url for f in forwards] == [forward.url]
    with urllib.request.urlopen(f"{forward.url}/i", timeout=5) as answer:
        assert answer.read() == b"kept\n"
    assert {c["Labels"]["dev.berth.helper"] for c in helpers(docker_api, workspace)} == {
        "portal", "forward"}
    # Another sandbox does not reach the forward: it sits on a network of its own (on which
    # containers cannot reach each other either), not on the engine's default bridge.
    [fwd] = [c for c in helpers(docker_api, workspace) if c["Labels"]["dev.berth.helper"] == "forward"]
    address = fwd["NetworkSettings"]["Networks"]["berth-forwards"]["IPAddress"]
    other = make_workspace("neighbour")
    run(engine, other, networkPolicy="open")
    tried = engine.exec(other, ["sh", "-c", f"wget -q -T 3 -O- http://{address}:40000/i || echo no"])
    assert tried.stdout.strip() == "no"
    engine.stop_selected(Selection(workspace=workspace))
    assert helpers(docker_api, workspace) == []
    volumes = docker_api.volumes(filters={"label": ["dev.berth.helper-of"]})["Volumes"] or []
    assert [v for v in volumes if v["Labels"].get("dev.berth.workspace") == workspace] == []


def test_helpers_of_a_sandbox_removed_behind_berths_back_are_collected(
        engine, make_workspace, docker_api):
    first = make_workspace("gone")
    made = run(engine, first, networkPolicy="open")
    engine.forward_port(first, 7001)
    docker_api.remove_container(made.sandbox.full_id, force=True)  # `docker rm -f`, no Berth
    assert helpers(docker_api, first)
    run(engine, make_workspace("next"), networkPolicy="open")
    deadline = time.monotonic() + 20
    while helpers(docker_api, first):
        assert time.monotonic() < deadline, "the helpers of the removed sandbox were kept"
        time.sleep(0.1)
