"""Egress rules without an engine: parsing host patterns, what a policy decides, what the proxy's relay
reads of a request and of its rules file (the relay itself is tested against the real engine in
tests/network, and over loopback in test_relay.py)."""

from __future__ import annotations

import json
import os
import re

import pytest
from berth.config import parse_request
from berth.engine.egress import parse_block
from berth.errors import BadInput
from berth.network import presets
from berth.network.relay import Refused, Rules, parse_head
from berth.network.rules import Decision, Policy, parse_pattern, parse_patterns
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(("text", "host", "wildcard", "port"), [
    ("example.com", "example.com", False, None),
    ("Example.COM.", "example.com", False, None),
    ("*.example.com", "example.com", True, None),
    ("db.example.com:5432", "db.example.com", False, 5432),
    ("*.example.com:8443", "example.com", True, 8443),
    ("10.0.0.5:5432", "10.0.0.5", False, 5432),
])
def test_patterns_parse(text, host, wildcard, port):
    pattern = parse_pattern(text)
    assert (pattern.host, pattern.wildcard, pattern.port) == (host, wildcard, port)
    assert parse_pattern(pattern.text) == pattern


@pytest.mark.parametrize(("text", "says"), [
    ("", "not of the form HOST[:PORT]"),
    ("bad host", "not of the form HOST[:PORT]"),
    ("bad_host.test", "not a host name"),
    ("exa*mple.com", "only as its first label"),
    ("*.com", "whole top-level domain"),
    ("example.com:0", "a port is a number from 1 to 65535"),
    ("example.com:http", "a port is a number"),
    ("[::1]:80", "IPv6"),
    ("*.10.0.0.1", "before an address"),
    ("-bad.example.com", "not a host name"),
    ("http://example.com", "not of the form HOST[:PORT]"),
])
def test_bad_patterns_say_what_is_wrong_and_name_the_value(text, says):
    with pytest.raises(BadInput) as caught:
        parse_pattern(text, "allowHosts")
    assert says in caught.value.message
    assert repr(text[:100]) in caught.value.message
    assert caught.value.data["field"] == "allowHosts"


def test_settings_take_the_policy_and_rules_and_reject_bad_ones():
    request = parse_request({"networkPolicy": "locked", "allowHosts": ["B.example.com", "a.org"],
                             "denyHosts": ["*.evil.example"]})
    assert request.fields == {"networkPolicy": "locked", "allowHosts": ("b.example.com", "a.org"),
                              "denyHosts": ("*.evil.example",)}
    with pytest.raises(BadInput, match="Unknown network policy 'closed'"):
        parse_request({"networkPolicy": "closed"})
    with pytest.raises(BadInput, match="must be a list of host patterns"):
        parse_request({"allowHosts": "example.com"})


def test_the_same_hosts_in_another_order_are_no_drift():
    recorded = parse_request({"allowHosts": ["a.org", "b.org"]}).resolve()
    assert parse_request({"allowHosts": ["b.org", "a.org"]}).drift(recorded) == []
    [item] = parse_request({"allowHosts": ["a.org"]}).drift(recorded)
    assert item["field"] == "allowHosts"


def test_deny_wins_and_ports_need_naming():
    policy = Policy("balanced", "claude", allow=parse_patterns(["*.example.com", "db.corp:5432"],
                                                               "allowHosts"),
                    deny=parse_patterns(["bad.example.com"], "denyHosts"))
    assert policy.decide("api.anthropic.com", 443).allowed  # the agent's own API
    assert policy.decide("registry.npmjs.org", 443).allowed  # balanced: registries
    assert policy.decide("a.example.com", 443) .rule == "allow *.example.com"
    assert not policy.decide("example.com", 443).allowed  # *. is what is under it
    assert policy.decide("bad.example.com", 443).rule == "deny bad.example.com"
    assert not policy.decide("a.example.com", 22).allowed
    assert policy.decide("db.corp", 5432).allowed and not policy.decide("db.corp", 443).allowed
    assert not policy.decide("evil.test", 443).allowed
    locked = Policy("locked", "claude")
    assert locked.decide("api.anthropic.com", 443).allowed
    assert not locked.decide("registry.npmjs.org", 443).allowed
    assert Policy("open", "claude").decide("anything.test", 1).allowed


def test_live_rules_allow_undoes_a_live_deny_but_never_a_recorded_one():
    policy = Policy("locked", "codex", deny=parse_patterns(["x.test"], "denyHosts"))
    policy = policy.with_denied(parse_patterns(["y.test"], "deny"))
    assert not policy.decide("y.test", 443).allowed
    policy = policy.with_allowed(parse_patterns(["y.test", "x.test"], "allow"))
    assert policy.decide("y.test", 443).allowed
    assert policy.decide("x.test", 443).rule == "deny x.test"
    assert policy.reset().live_allow == () and policy.reset().live_deny == ()


def test_every_built_in_preset_host_is_a_valid_pattern():
    for agent, hosts in presets.AGENT_HOSTS.items():
        for policy in ("balanced", "locked"):
            for text in presets.hosts(policy, agent):
                parse_pattern(text, "preset")
        assert set(hosts) <= set(presets.hosts("locked", agent))


# -- the proxy's relay: what it reads of a request, and its rules file ----------------------------

_labels = st.sampled_from(["a", "b", "api", "x-y", "9"])
_hosts = st.lists(_labels, min_size=1, max_size=3).map(lambda ls: ".".join([*ls, "test"]))
_patterns = st.builds(lambda wild, host, port: ("*." if wild else "") + host + (
    f":{port}" if port else ""), st.booleans(), _hosts, st.sampled_from([None, 80, 443, 5432]))


@settings(max_examples=300, deadline=None)
@given(preset=st.lists(_patterns, max_size=3), allow=st.lists(_patterns, max_size=4),
       deny=st.lists(_patterns, max_size=3), live=st.lists(_patterns, max_size=2),
       host=_hosts, port=st.sampled_from([80, 443, 5432, 22]))
def test_the_rules_file_decides_what_the_server_shows(preset, allow, deny, live, host, port):
    # The proxy decides with the Policy read back from the JSON Berth writes into it.
    policy = Policy("locked", "shell", allow=parse_patterns(allow, "allowHosts"),
                    deny=parse_patterns(deny, "denyHosts"),
                    live_deny=parse_patterns(live, "deny"),
                    preset_hosts=parse_patterns(preset, "preset"))
    relayed = Policy.from_json(json.loads(json.dumps(policy.to_json())))
    assert relayed.decide(host, port) == policy.decide(host, port)
    assert relayed.decide(host.upper(), port) == policy.decide(host, port)


@pytest.mark.parametrize(("head", "host", "port", "forward"), [
    (b"CONNECT Api.Example.test:443 HTTP/1.1\r\nHost: api.example.test:443", "api.example.test",
     443, b""),
    (b"GET http://h.test/a/b?q=1 HTTP/1.1\r\nHost: h.test\r\nProxy-Connection: keep-alive\r\n"
     b"Proxy-Authorization: Basic eA==\r\nAccept: */*", "h.test", 80,
     b"GET /a/b?q=1 HTTP/1.1\r\nHost: h.test\r\nAccept: */*\r\nConnection: close\r\n\r\n"),
    # The Host a shared front end routes by is the one the policy decided on, not the client's;
    # headers the client's Connection names are its hop's own.
    (b"POST http://10.0.0.5:8080?x HTTP/1.0\r\nHost: evil.test\r\nConnection: keep-alive, X-Hop"
     b"\r\nX-Hop: 1\r\nX-End: 2", "10.0.0.5", 8080,
     b"POST /?x HTTP/1.0\r\nHost: 10.0.0.5:8080\r\nX-End: 2\r\nConnection: close\r\n\r\n"),
])
def test_the_relay_reads_the_standard_request_forms(head, host, port, forward):
    request = parse_head(head)
    assert (request.host, request.port, request.forward) == (host, port, forward)


@pytest.mark.parametrize("head", [
    b"GET http://ok.test@evil.test/ HTTP/1.1",  # a user part: which host is meant is unclear
    b"GET http://ok.test/#frag HTTP/1.1",
    b"GET /path HTTP/1.1\r\nHost: ok.test",  # origin form: not a proxy request
    b"GET https://ok.test/ HTTP/1.1",
    b"CONNECT ok.test HTTP/1.1", b"CONNECT ok.test:99999 HTTP/1.1", b"CONNECT [::1]:443 HTTP/1.1",
    b"GET http://ok.test:x/ HTTP/1.1", b"GET http://ok.test/ SPDY/3", b"GET  http://ok.test/ HTTP/1.1",
    b"CONNECT ok.test:" + b"4" * 5000 + b" HTTP/1.1", b"CONNECT ok.test\n:443 HTTP/1.1",
    b"CONNECT " + b"a" * 300 + b".test:443 HTTP/1.1",
    "GET http://\u00e9.test/ HTTP/1.1".encode(),
])
def test_the_relay_refuses_every_other_form(head):
    with pytest.raises(Refused) as refused:
        parse_head(head)
    assert refused.value.status.startswith("400")


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_the_relay_answers_any_bytes_with_a_request_or_a_refusal(head):
    try:
        request = parse_head(head)
    except Refused:
        return
    assert request.host and 1 <= request.port <= 65535 and "@" not in request.host


def test_the_rules_file_is_taken_once_complete(tmp_path):
    path = str(tmp_path / "rules.json")
    locked = Policy("locked", "shell", allow=parse_patterns(["a.test"], "allowHosts"))
    rules = Rules(path, initial=json.dumps(locked.to_json()))
    assert rules.current().decide("a.test", 443).allowed
    with open(path) as kept:  # where Berth reads and writes them from now on
        assert json.load(kept)["allow"] == ["a.test"]
    # Berth's write replaces the file; one caught half-written leaves the rules before it.
    (tmp_path / "half").write_text(json.dumps(locked.with_denied([parse_pattern("a.test")])
                                              .to_json())[:40])
    os.replace(tmp_path / "half", path)
    assert rules.current().decide("a.test", 443).allowed
    (tmp_path / "whole").write_text(json.dumps(locked.with_denied([parse_pattern("a.test")])
                                               .to_json()))
    os.replace(tmp_path / "whole", path)
    assert rules.current().decide("a.test", 443) == Decision(False, "deny a.test")
    # Rewritten on the same inode, to the same size and time (the engine's archive times are whole
    # seconds): still seen, by the change time only the kernel sets.
    when = os.stat(path).st_mtime_ns
    b = json.dumps(Policy("locked", "shell", allow=parse_patterns(["b.test"], "allowHosts")).to_json())
    a = json.dumps(locked.to_json())
    assert len(a) == len(b)
    for text, b_allowed in ((b, True), (a, False)):
        with open(path, "r+") as f:
            f.write(text)
            f.truncate()
        os.utime(path, ns=(when, when))
        assert rules.current().decide("b.test", 443).allowed is b_allowed
    # Created with rules it cannot read: nothing at all is allowed.
    assert not Rules(str(tmp_path / "none.json"), initial="{").current().decide("a.test", 443).allowed


def test_a_refused_request_in_the_proxy_log_names_host_port_and_rule():
    line = ('2026-11-27T10:00:00.5Z {"blocked": {"host": "x.bad.test", "port": 443, '
            '"rule": "deny *.bad.test"}}')
    block = parse_block(line)
    assert block is not None
    assert block.to_json() == {"time": "2026-11-27T10:00:00.5Z", "host": "x.bad.test",
                               "port": 443, "rule": "deny *.bad.test"}
    assert parse_block('2026-11-27T10:00:00Z {"rules": "balanced"}') is None
    # The agent chose the host it asked for: one that is not a plain host name is not shown.
    assert parse_block('2026-11-27T10:00:00Z {"blocked": {"host": "a\\u001b[2J", "port": 443, '
                       '"rule": "r"}}') is None
    assert parse_block('2026-11-27T10:00:00Z {"blocked": "x"}') is None


def test_block_notifications_are_rate_limited_per_host_port_and_rule_and_per_minute():
    from berth.engine.egress import Block
    from berth.lsp.network_blocks import BURST, REPEAT_AFTER, RateLimit

    limit = RateLimit()
    a = Block("t", "a.test", 443, "no allow rule")
    assert limit.allow(a, 0.0)
    assert not limit.allow(a, 1.0)  # a retry loop
    assert limit.allow(Block("t", "a.test", 443, "deny a.test"), 2.0)  # the rules changed
    assert limit.allow(a, REPEAT_AFTER + 0.5)
    hosts = [Block("t", f"h{i}.test", 443, "r") for i in range(BURST)]
    assert sum(limit.allow(b, 40.0) for b in hosts) == BURST - 3  # 3 sent in the last minute
    assert limit.allow(Block("t", "late.test", 443, "r"), 100.5)  # a minute later


def test_docs_network_lists_exactly_the_preset_hosts():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "network.md").read_text()
    for agent, hosts in presets.AGENT_HOSTS.items():
        [row] = [line for line in text.splitlines() if line.startswith(f"| `{agent}` |")]
        assert re.findall(r"`([^`]+)`", row)[1:] == list(hosts), agent
    section = text[text.index("### Package registries"):text.index("These lists are data")]
    assert re.findall(r"`([^`]+)`", section.split("\n", 2)[2]) == list(presets.REGISTRIES)


def test_fallback_subnets_are_28s_of_the_range_from_a_token_picked_start(monkeypatch):
    import ipaddress

    from berth.engine.egress import _fallback_subnets, iso_seconds

    monkeypatch.delenv("BERTH_EGRESS_SUBNETS", raising=False)
    subnets = _fallback_subnets("00000000000a", tries=3)
    assert subnets == ["10.213.0.160/28", "10.213.0.176/28", "10.213.0.192/28"]
    monkeypatch.setenv("BERTH_EGRESS_SUBNETS", "192.168.200.0/26")
    wrapped = _fallback_subnets("000000000003")
    assert wrapped == ["192.168.200.48/28", "192.168.200.0/28", "192.168.200.16/28",
                       "192.168.200.32/28"]
    assert all(ipaddress.IPv4Network(n).subnet_of(ipaddress.IPv4Network("192.168.200.0/26"))
               for n in wrapped)
    for bad in ("10.0.0.0/30", "not-a-net"):
        monkeypatch.setenv("BERTH_EGRESS_SUBNETS", bad)
        with pytest.raises(BadInput, match="BERTH_EGRESS_SUBNETS"):
            _fallback_subnets("0")
    # Engine timestamps, whatever their zone.
    assert iso_seconds("2026-11-27T17:51:17.982889926Z", 0) == \
        iso_seconds("2026-11-27T12:51:17-05:00", 0) == 1795801877.0
