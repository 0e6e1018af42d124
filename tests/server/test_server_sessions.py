"""Agent sessions over the protocol, against a real engine: every window hears a session start and
exit, whoever started it; a session is listed, attached from a client without a terminal of its own
(framed), stopped; the sessions of a stopped sandbox are gone."""

from __future__ import annotations

import asyncio
import struct

from support.images import CLAUDE
from support.terminal import Terminal

OPTIONS = {"template": CLAUDE}


def frame(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack(">H", len(payload)) + payload


async def read_frames(stdout: asyncio.StreamReader, until: bytes) -> list[tuple[bytes, bytes]]:
    frames = []
    while True:
        head = await stdout.readexactly(3)
        payload = await stdout.readexactly(struct.unpack(">H", head[1:])[0])
        frames.append((head[:1], payload))
        if head[:1] == until:
            return frames


def running(sessions):
    return [s["id"] for s in sessions if s["state"] == "running"]


async def test_a_session_is_heard_of_listed_attached_framed_and_its_exit_said(sessions, workspace):
    s = await sessions([workspace], options=OPTIONS)
    await s.wait_status(workspace, "absent")
    result = await s.request("sandbox/run", {"framed": True})
    argv = result["attach"]["argv"]
    assert argv[argv.index("exec") + 1] == "-i" and "--framed" in argv

    # The editor's pseudo-terminal: framed input and output over the process's pipes.
    agent = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.PIPE,
                                                 stdout=asyncio.subprocess.PIPE)
    agent.stdin.write(frame(b"w", struct.pack(">HH", 120, 40)))
    first = await asyncio.wait_for(agent.stdout.readexactly(3), 30)
    assert first[:1] == b"s"
    session_id = (await agent.stdout.readexactly(struct.unpack(">H", first[1:])[0])).decode()
    assert session_id == "claude-1"
    heard = await s.wait_sessions(lambda found: running(found) == ["claude-1"])
    assert heard["workspace"] == workspace and heard["sandbox"] == result["id"]

    agent.stdin.write(frame(b"d", b"hello\r"))
    listed = await s.request("sandbox/sessions", {})
    assert running(listed["sessions"]) == ["claude-1"] and listed["sessions"][0]["attached"]

    # A second client takes the session over; the first hears so.
    attach = await s.request("sandbox/attachSession", {"session": "claude-1", "framed": True})
    assert attach["session"]["id"] == "claude-1" and "--framed" in attach["argv"]
    second = await asyncio.create_subprocess_exec(*attach["argv"], stdin=asyncio.subprocess.PIPE,
                                                  stdout=asyncio.subprocess.PIPE)
    frames = await asyncio.wait_for(read_frames(agent.stdout, b"k"), 30)
    assert b"agent heard: hello" in b"".join(p for k, p in frames if k == b"o")
    assert await agent.wait() == 0

    mark = len(s.session_changes)
    second.stdin.write(frame(b"d", b"exit\r"))
    frames = await asyncio.wait_for(read_frames(second.stdout, b"x"), 30)
    output = b"".join(p for k, p in frames if k == b"o")
    assert b"agent heard: hello" in output  # the screen so far, replayed to the new client
    assert frames[-1] == (b"x", struct.pack(">I", 0))
    exited = await s.wait_sessions(lambda found: found and found[0]["state"] == "exited",
                                   after=mark)
    assert exited["sessions"][0]["exitCode"] == 0
    assert exited["sessions"][0]["lastOutput"].endswith("fake-agent done")
    await second.wait()


async def test_a_session_started_from_a_terminal_is_heard_stopped_and_ends_with_the_sandbox(
        sessions, workspace):
    s = await sessions([workspace], options=OPTIONS)
    await s.wait_status(workspace, "absent")
    result = await s.request("sandbox/run", {})
    term = Terminal(result["attach"]["argv"])  # as the CLI or another editor would
    term.expect("tty: yes")
    await s.wait_sessions(lambda found: running(found) == ["claude-1"])

    stopped = await s.request("sandbox/stopSession", {"session": "claude-1"})
    [gone] = stopped["sessions"]
    assert gone["state"] == "exited" and gone["reason"]["kind"] == "stopped"
    assert term.wait() == 129

    term = Terminal((await s.request("sandbox/run", {}))["attach"]["argv"])
    term.expect("tty: yes")
    await s.wait_sessions(lambda found: running(found) == ["claude-2"])
    mark = len(s.session_changes)
    await s.request("sandbox/stop", {})
    await s.wait_sessions(lambda found: found == [], after=mark)
    assert (await s.request("sandbox/sessions", {}))["sessions"] == []
    term.wait()


async def test_bad_session_requests_name_the_problem(sessions, workspace):
    s = await sessions([workspace], options=OPTIONS)
    await s.wait_status(workspace, "absent")
    await s.request("sandbox/run", {})
    for params, code, text in [
        ({"session": "../../etc"}, -32602, "'session' must be a session id"),
        ({"session": "claude-5"}, -32001, "no session claude-5"),
        ({}, -32602, "'session' must be a session id"),
    ]:
        error = await s.error("sandbox/stopSession", params)
        assert error.code == code and text in error.message
    error = await s.error("sandbox/attachSession", {"framed": "yes"})
    assert error.code == -32602 and "'framed' must be true or false" in error.message
    error = await s.error("sandbox/attachSession", {})
    assert error.code == -32001 and "No agent is running" in error.message
