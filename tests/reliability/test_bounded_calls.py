"""Every engine call is bounded: a pull that stops making progress, a stuck stat of the setup marker.

Pulls come from a registry on loopback that stalls (the engine trusts 127.0.0.0/8 without TLS): it
answers the API check and then never answers the manifest (a stalled registry: the engine sends
Berth nothing at all), or answers the manifest and never a blob (the pull's stream has begun, then
goes silent). BERTH_ENGINE_TIMEOUT is lowered to keep each wait short.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from berth.config import parse_request
from berth.engine import Engine
from berth.errors import TemplateProblem
from support.containers import sandboxes_of
from support.reliability import BOUND, TEMPLATE, assert_clean_error

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class StallingRegistry:
    """A registry API on loopback whose pulls never finish: they stall at `stall_at`."""

    def __init__(self, stall_at: str) -> None:
        assert stall_at in ("manifest", "blob")
        self.stall_at = stall_at
        self.reached = threading.Event()  # a pull reached the point where it stalls
        self.release = threading.Event()
        digest = lambda: f"sha256:{uuid.uuid4().hex}{uuid.uuid4().hex}"  # noqa: E731
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": 1000, "digest": digest()},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": 1000, "digest": digest()}],
        }).encode()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _RegistryHandler)
        self._server.daemon_threads = True
        self._server.registry = self  # type: ignore[attr-defined]
        self.ref = (f"127.0.0.1:{self._server.server_address[1]}/berth-stall/claude:"
                    f"{uuid.uuid4().hex[:8]}")
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


class _RegistryHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle(self) -> None:
        # The engine tries https first and falls back to http for a loopback registry when the
        # handshake fails: a closed connection makes it fail at once.
        if self.connection.recv(1, socket.MSG_PEEK) == b"\x16":
            return
        super().handle()

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        registry: StallingRegistry = self.server.registry  # type: ignore[attr-defined]
        path = self.path.split("?")[0]
        if path.rstrip("/") == "/v2":
            return self._send(200, b"{}", "application/json", with_body)
        kind = "manifest" if "/manifests/" in path else "blob" if "/blobs/" in path else None
        if kind is None:
            return self._send(404, b"{}", "application/json", with_body)
        if kind == "blob" or kind == registry.stall_at:
            registry.reached.set()
            registry.release.wait(300)
            self.close_connection = True
            return None
        return self._send(200, registry.manifest, MANIFEST_TYPE, with_body)

    def _send(self, code: int, body: bytes, kind: str, with_body: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(params=["manifest", "blob"])
def stalling(request) -> Iterator[StallingRegistry]:
    registry = StallingRegistry(request.param)
    yield registry
    registry.close()


def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> concurrent.futures.Future:
    """fn on a daemon thread of its own: a call that never returns must fail the test, not hang it
    (a pool's shutdown would wait for it)."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def target() -> None:
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=target, daemon=True).start()
    return future


async def test_a_stalled_pull_fails_in_bound_and_holds_up_no_stop_or_remove(
        sessions, workspace, stalling, docker_api):
    s = await sessions([workspace], options=TEMPLATE, env={"BERTH_ENGINE_TIMEOUT": str(BOUND)})
    await s.wait_status(workspace, "absent")
    started = time.monotonic()
    run = asyncio.ensure_future(s.request("sandbox/run", {"template": stalling.ref}))
    assert await asyncio.to_thread(stalling.reached.wait, 30), "the engine never asked the registry"

    # The pull holds no lock of the workspace: stop and remove answer at once (it has no sandbox).
    for method in ("sandbox/stop", "sandbox/remove"):
        t0 = time.monotonic()
        error = await asyncio.wait_for(s.error(method), 2.5)
        assert error.code == -32001 and "has no sandbox" in error.message, (method, error.message)
        assert time.monotonic() - t0 < 2.5, method
    assert not run.done()

    with pytest.raises(Exception) as info:
        await asyncio.wait_for(run, BOUND + 10)
    assert_clean_error(info.value, codes={-32003})
    assert stalling.ref in info.value.message
    assert f"no progress for {BOUND:g} s" in info.value.message, info.value.message
    assert BOUND - 0.5 < time.monotonic() - started < BOUND + 10
    assert sandboxes_of(docker_api, workspace) == []
    ok = await s.request("sandbox/run")
    assert ok["created"] and ok["status"] == "running"


@pytest.mark.parametrize("stalling", ["blob"], indirect=True)
def test_stop_does_not_wait_behind_a_recreates_stalled_pull(workspace, stalling, docker_api):
    engine = Engine(timeout=BOUND)
    first = engine.run(workspace, parse_request(TEMPLATE))
    recreate = in_thread(engine.run, workspace, parse_request({"template": stalling.ref}),
                         recreate=True)
    assert stalling.reached.wait(30), "the engine never asked the registry"

    t0 = time.monotonic()
    stopped = in_thread(engine.stop, workspace).result(timeout=BOUND + 10)
    assert stopped.full_id == first.sandbox.full_id and stopped.status == "exited"
    assert time.monotonic() - t0 < 5
    with pytest.raises(TemplateProblem) as info:
        recreate.result(timeout=BOUND + 10)
    assert "no progress" in info.value.message and stalling.ref in info.value.message
    # The stalled template cost the user nothing: the same sandbox, as the stop left it.
    [container] = sandboxes_of(docker_api, workspace)
    assert container["Id"] == first.sandbox.full_id and container["State"] == "exited"


async def test_a_stuck_setup_marker_check_fails_in_bound(sessions, workspace, proxy):
    s = await sessions([workspace], options=TEMPLATE,
                       env={"DOCKER_HOST": proxy.url, "BERTH_ENGINE_TIMEOUT": str(BOUND)})
    first = await s.request("sandbox/run")

    # `run` on a running sandbox and `exec` each stat a marker file in it (HEAD .../archive).
    proxy.stall(r"/containers/[0-9a-f]+/archive")
    for method, params in (("sandbox/run", {}), ("sandbox/exec", {"command": ["true"]})):
        t0 = time.monotonic()
        error = await asyncio.wait_for(s.error(method, params), BOUND + 10)
        assert_clean_error(error, codes={-32002})
        assert "timed out" in error.message.lower(), error.message
        assert BOUND - 0.5 < time.monotonic() - t0 < BOUND + 10, method
    assert any(b"/archive" in path for path in proxy.stalled)
    proxy.stall(None)
    again = await s.request("sandbox/run")
    assert again["id"] == first["id"] and not again["created"]
