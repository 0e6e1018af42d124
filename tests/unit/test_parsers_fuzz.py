"""The parsers against arbitrary input (hypothesis): each either accepts a well-formed value or raises
BadInput, never anything else. Pure: no engine (the server and CLI are fuzzed in
tests/reliability/test_hostile_input.py with the same strategies, support/fuzz.py)."""

from __future__ import annotations

import json
import os

from berth.config import (
    parse_agent_args,
    parse_env,
    parse_port,
    parse_ports,
    parse_request,
    parse_volume,
    parse_volumes,
    split_port,
)
from berth.errors import BadInput
from berth.workspace import resolve_workspace
from hypothesis import given, settings
from hypothesis import strategies as st
from support.fuzz import JSON, TEXT

PARSER_SETTINGS = settings(max_examples=400, deadline=None)


def only_bad_input(fn, *args):
    try:
        return fn(*args)
    except BadInput as exc:
        assert exc.message and isinstance(exc.message, str)
        json.dumps(exc.to_data())  # its data goes on the wire
        return None


@PARSER_SETTINGS
@given(st.one_of(JSON, st.lists(TEXT), st.lists(st.from_regex(r"\A[^=]*=.*\Z")),
                 st.dictionaries(TEXT, TEXT)))
def test_env_parsing_raises_only_bad_input(value):
    out = only_bad_input(parse_env, value)
    if out is not None:
        assert all("=" in item and "\x00" not in item for item in out)


@PARSER_SETTINGS
@given(st.one_of(JSON, TEXT, st.from_regex(r"\A/[^:]*:[^:]*(:(ro|rw|readonly|x))?\Z"),
                 st.sampled_from(["/tmp:/x", "/tmp:/", "/tmp:/x:ro", "/:/a/../", "/tmp:x",
                                  "/tmp\udcff:/x", "/tmp/../tmp:/x/./y:readonly"])))
def test_volume_parsing_raises_only_bad_input(value):
    out = only_bad_input(parse_volume, value)
    if out is not None:
        host, target, *mode = out.split(":")
        assert os.path.isabs(host) and target.startswith("/") and target != "/"
        assert mode in ([], ["ro"])
        out.encode("utf-8")  # Docker's API is UTF-8
    only_bad_input(parse_volumes, [value, value] if isinstance(value, str) else value)


@PARSER_SETTINGS
@given(st.dictionaries(st.sampled_from(["agent", "template", "env", "volumes", "name",
                                        "mountDockerSocket", "credentials", "ports", "cpus",
                                        "memory", "pidsLimit", "gpus", "x"]) | TEXT,
                       JSON, max_size=5) | JSON, st.booleans())
def test_config_request_parsing_raises_only_bad_input(raw, strict):
    try:
        request = parse_request(raw, strict=strict)
    except BadInput:
        return
    config = request.resolve()
    json.dumps(config.to_json())
    request.drift(config)


@PARSER_SETTINGS
@given(st.one_of(JSON, TEXT, st.from_regex(
    r"\A(\[[0-9a-f:]*\]:|[0-9.]*:)?[0-9]{0,6}:[0-9]{0,6}(/[a-z]*)?\Z")))
def test_port_parsing_raises_only_bad_input(value):
    out = only_bad_input(parse_port, value)
    if out is not None:
        ip, host, container = split_port(out)
        assert 1 <= host <= 65535 and 1 <= container <= 65535
    only_bad_input(parse_ports, [value, value])


@PARSER_SETTINGS
@given(st.one_of(JSON, TEXT, st.builds(lambda s: "/" + s, TEXT),
                 st.builds(lambda s: "file://" + s, TEXT),
                 st.sampled_from(["/", "/tmp/../tmp", "file:///tmp", "file://host/tmp",
                                  "file:///tmp/%FF", "/tmp/\udcff", "file:/tmp", "c:/x"])))
def test_workspace_resolution_raises_only_bad_input(value):
    out = only_bad_input(resolve_workspace, value)
    if out is not None:
        assert os.path.isdir(out) and os.path.realpath(out) == out
        out.encode("utf-8")
    only_bad_input(parse_agent_args, value)


# -- one live server per request kind, arbitrary params -----------------------------------------
