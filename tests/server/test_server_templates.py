"""Templates Berth builds, over the protocol against a real engine: a build reports its named steps as
`$/progress` and answers with what the template holds; the progress's cancel ends a build with nothing
tagged; a run with no template to be had says which agents a client can offer to build."""

from __future__ import annotations

import asyncio
import uuid

from lsprotocol import types
from support.images import has_image

BASE = "berth.local/base:bookworm"  # made by the engine tests' cold build (or made here)
AGENT = "berthtestsrv"


def tag() -> str:
    return f"berth.local/template:test-srv-{uuid.uuid4().hex[:8]}"


def reports(session, token: str) -> list[str]:
    return [r.message or "" for r in session.client.progress_reports.get(token, [])
            if isinstance(r, types.WorkDoneProgressReport)]


async def test_a_build_reports_its_steps_and_lists_what_it_holds(sessions, workspace, docker_api):
    s = await sessions([workspace])
    made = tag()
    try:
        result = await s.request("sandbox/buildTemplate", {
            "agents": ["shell"], "tag": made, "hostCertificates": True,
            "workDoneToken": "build-1"})
        assert result["tag"] == made and result["agents"] == ["shell"]
        assert result["baseSource"] in ("debootstrap", "official") and not result["upToDate"]
        seen = reports(s, "build-1")
        assert any("installing OS packages with apt-get" in m for m in seen), seen
        assert seen[-1].startswith(f"Built {made}: shell")
        listed = await s.request("sandbox/templates", {})
        assert made in [t["tag"] for t in listed["templates"]]

        again = await s.request("sandbox/buildTemplate", {
            "agents": ["shell"], "tag": made, "hostCertificates": True})
        assert again["upToDate"] is True and again["built"] == result["built"]
    finally:
        docker_api.remove_image(made, force=True)


async def cancelled_build(s, docker_api, version: str, cancel) -> None:
    """A build of a pinned Claude Code release no other test installs (its npm step, silent for a
    long while, is not cached), cancelled by `cancel(token, request id)` once that step runs: the
    server answers other requests at once meanwhile, and the build ends cancelled, tagging
    nothing."""
    made, token, msg_id = tag(), f"build-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    request = asyncio.wrap_future(s.client.protocol.send_request(
        "sandbox/buildTemplate", {"agents": [f"claude@{version}"], "tag": made,
                                  "hostCertificates": True, "workDoneToken": token},
        msg_id=msg_id))
    for _ in range(1200):
        if any("installing the agents" in m for m in reports(s, token)) or request.done():
            break
        await asyncio.sleep(0.5)
    assert not request.done(), "the build ended before its npm step"
    cancel(token, msg_id)
    # Stopping the build never holds the server up.
    await asyncio.wait_for(s.request("sandbox/templates", {}), 3)
    error = None
    try:
        await asyncio.wait_for(request, 120)
    except Exception as exc:  # the cancelled build's error
        error = exc
    assert error is not None and "cancelled; nothing was tagged" in str(error), error
    assert error.data["kind"] == "templateProblem" and error.data["cancelled"] is True
    assert not has_image(docker_api, made)


async def test_cancelling_the_progress_ends_the_build_and_tags_nothing(sessions, workspace,
                                                                       docker_api):
    s = await sessions([workspace])
    await cancelled_build(s, docker_api, "2.1.328", lambda token, _id: s.client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)))


async def test_cancelling_the_request_ends_the_build_and_says_so(sessions, workspace, docker_api):
    s = await sessions([workspace])
    await cancelled_build(s, docker_api, "2.1.327", lambda _token, msg_id: s.client.protocol.notify(
        types.CANCEL_REQUEST, types.CancelParams(id=msg_id)))


async def test_a_run_with_no_template_to_be_had_offers_the_build(sessions, workspace,
                                                                 user_config_home):
    (user_config_home / "berth").mkdir(exist_ok=True)
    (user_config_home / "berth" / "config.toml").write_text(
        f'[agents.{AGENT}]\nbinary = "bash"\ntemplate = "berth-test/no-such:1"\n'
        f'[recipes.{AGENT}]\nbinary = "bash"\n')
    s = await sessions([workspace], options={"agent": AGENT})
    error = await s.error("sandbox/run", {})
    assert error.data["kind"] == "templateProblem" and error.data["build"] == [AGENT]
    assert f"berth template build {AGENT}" in str(error)
    # An agent Berth has no recipe for gets no offer.
    bad = await s.error("sandbox/buildTemplate", {"agents": ["nosuchagent"]})
    assert bad.data["kind"] == "badInput"
    empty = await s.error("sandbox/buildTemplate", {"agents": []})
    assert "'agents' must name at least one agent" in str(empty)
