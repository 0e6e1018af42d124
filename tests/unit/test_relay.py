"""The proxy's relay over loopback, without an engine: a tunnel and a plain HTTP exchange carry every
byte both ways, a refused request is answered 403 and logged, and a rules change applies to the next
request. (In the proxy container, against the real engine: tests/network.)"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from berth.network.relay import Relay, Rules
from berth.network.rules import Policy, parse_patterns


@pytest.fixture
def origin() -> Iterator[int]:
    """A TCP server on loopback that answers each connection with what it was sent, reversed,
    after the client finished sending."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                    if data.endswith(b"\r\n\r\n") and data.startswith(b"GET"):
                        break
                conn.sendall(data[::-1])

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def relay(tmp_path: Path, origin: int) -> Iterator[tuple[int, Path, list[dict]]]:
    path = tmp_path / "rules.json"
    policy = Policy("locked", "shell", allow=parse_patterns([f"127.0.0.1:{origin}"], "allowHosts"))
    logged: list[dict] = []
    rules = Rules(str(path), initial=json.dumps(policy.to_json()), log=logged.append)
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=Relay(rules, logged.append).serve, args=(listener,), daemon=True).start()
    yield listener.getsockname()[1], path, logged
    listener.close()


def ask(port: int, head: bytes, body: bytes = b"", close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + body)
        if close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_a_tunnel_carries_every_byte_both_ways(relay, origin):
    port, _, _ = relay
    payload = os.urandom(3 << 20)
    answer = ask(port, f"CONNECT 127.0.0.1:{origin} HTTP/1.1\r\n\r\n".encode(), payload)
    established = b"HTTP/1.1 200 Connection established\r\n\r\n"
    assert answer.startswith(established)
    assert answer[len(established):] == payload[::-1]


def test_plain_http_goes_to_the_host_in_origin_form_asking_it_to_close(relay, origin):
    port, _, _ = relay
    answer = ask(port, f"GET http://127.0.0.1:{origin}/x?y HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Proxy-Connection: keep-alive\r\n\r\n".encode(), close=False)
    sent = answer[::-1]
    assert sent == (f"GET /x?y HTTP/1.1\r\nHost: 127.0.0.1:{origin}\r\nConnection: close\r\n\r\n"
                    .encode())


def test_a_refused_request_is_answered_and_logged_and_new_rules_apply_at_once(relay, origin):
    port, path, logged = relay
    head = b"CONNECT blocked.test:443 HTTP/1.1\r\n\r\n"
    answer = ask(port, head)
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"berth policy allow blocked.test:443" in answer
    assert {"blocked": {"host": "blocked.test", "port": 443,
                        "rule": "not in the locked policy or any allow rule"}} in logged
    # What Berth does on `policy deny`: the file replaced; the very next request meets it.
    denied = Policy("locked", "shell", live_deny=parse_patterns(["127.0.0.1"], "deny"))
    path.with_suffix(".new").write_text(json.dumps(denied.to_json()))
    os.replace(path.with_suffix(".new"), path)
    answer = ask(port, f"CONNECT 127.0.0.1:{origin} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n") and b"deny 127.0.0.1" in answer


def test_a_name_that_resolves_to_the_proxy_itself_is_not_relayed(relay, origin, tmp_path):
    port, path, _ = relay
    allowed = Policy("locked", "shell", allow=parse_patterns([f"localhost:{origin}"], "allow"))
    path.with_suffix(".new").write_text(json.dumps(allowed.to_json()))
    os.replace(path.with_suffix(".new"), path)
    answer = ask(port, f"CONNECT localhost:{origin} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert b"resolves to 127.0.0.1, which is not relayed" in answer


def test_a_name_the_resolver_cannot_take_is_answered_not_dropped(relay, tmp_path):
    # A label longer than 63 letters fits a wildcard rule but not the resolver (UnicodeError).
    port, path, _ = relay
    allowed = Policy("locked", "shell", allow=parse_patterns(["*.berth.test"], "allow"))
    path.with_suffix(".new").write_text(json.dumps(allowed.to_json()))
    os.replace(path.with_suffix(".new"), path)
    answer = ask(port, ("CONNECT " + "a" * 70 + ".berth.test:443 HTTP/1.1\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
