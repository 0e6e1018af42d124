"""Configuration parsing, validation and layering: pure logic, no engine."""

from __future__ import annotations

import pytest
from berth.config import ConfigRequest, SandboxConfig, parse_env, parse_request, parse_volume
from berth.errors import BadInput


def test_env_accepts_key_value_and_keeps_equals_in_values():
    assert parse_env(["A=1", "B=x=y", "C="]) == ("A=1", "B=x=y", "C=")


@pytest.mark.parametrize("entry, expected", [
    ("=value", "empty variable name"),
    ("NOVALUE", "not of the form KEY=VALUE"),
    ("BAD KEY=1", "white space"),
])
def test_env_rejects_malformed_entries(entry, expected):
    with pytest.raises(BadInput, match=expected):
        parse_env([entry])


def test_env_errors_never_echo_the_value():
    secret = "s3cr3t-canary"
    with pytest.raises(BadInput) as info:
        parse_env([f"A={secret}", f"A={secret}"])
    assert "given twice" in info.value.message
    assert secret not in info.value.message
    with pytest.raises(BadInput) as info:
        parse_env([f"A={secret}\x00"])
    assert secret not in info.value.message


def test_env_must_be_a_list_of_strings():
    with pytest.raises(BadInput, match="must be a list"):
        parse_env("A=1")
    with pytest.raises(BadInput, match="KEY=VALUE string"):
        parse_env([1])


def test_volume_forms(tmp_path):
    host = str(tmp_path)
    assert parse_volume(f"{host}:/data") == f"{host}:/data"
    assert parse_volume(f"{host}:/data:ro") == f"{host}:/data:ro"
    assert parse_volume(f"{host}:/data:readonly") == f"{host}:/data:ro"
    assert parse_volume(f"{host}:/data:rw") == f"{host}:/data"


@pytest.mark.parametrize("spec, expected", [
    ("/tmp", "not of the form"),
    ("/tmp:/a:ro:extra", "not of the form"),
    ("/tmp:/a:rx", "unknown mode 'rx'"),
    (":/a", "empty host path"),
    ("relative/path:/a", "must be absolute"),
    ("/definitely/not/here:/a", "does not exist"),
    ("/tmp:relative", "container path 'relative' must be absolute"),
    ("/tmp:", "container path '' must be absolute"),
    ("/tmp:/", "root"),
])
def test_volume_rejects_each_malformed_form(spec, expected):
    with pytest.raises(BadInput, match=expected) as info:
        parse_volume(spec)
    assert info.value.data["field"] == "volumes"


def test_two_volumes_on_one_target_are_refused(tmp_path):
    with pytest.raises(BadInput, match="target of two volumes"):
        parse_request({"volumes": [f"{tmp_path}:/a", f"{tmp_path}:/a:ro"]})


@pytest.mark.parametrize("raw, expected", [
    ({"agent": "codex"}, "Unknown agent 'codex'"),
    ({"credentials": "everything"}, "Unknown credentials mode 'everything'"),
    ({"mountDockerSocket": "yes"}, "must be true or false"),
    ({"template": "has space"}, "not a valid image reference"),
    ({"name": "-bad"}, "not a valid container name"),
    ({"frobnicate": 1}, "Unknown parameter 'frobnicate'"),
])
def test_bad_parameters_name_the_problem_and_value(raw, expected):
    with pytest.raises(BadInput, match=expected):
        parse_request(raw)


def test_settings_ignore_unknown_keys_and_nulls():
    request = parse_request({"interpreter": "/usr/bin/python3", "template": None, "env": ["A=1"]},
                            strict=False)
    assert dict(request.fields) == {"env": ("A=1",)}


def test_request_layers_over_settings_and_resolves_defaults():
    settings = parse_request({"template": "img:1", "env": ["A=1"]})
    params = parse_request({"env": ["B=2"]})
    config = params.over(settings).resolve()
    assert config.template == "img:1"
    assert config.env == ("B=2",)
    assert config.agent == "claude" and config.credentials == "sandbox"


def test_default_template_follows_the_agent():
    assert ConfigRequest().resolve().template == "docker/sandbox-templates:claude-code"
    gemini = parse_request({"agent": "gemini"}).resolve()
    assert gemini.template == "docker/sandbox-templates:gemini"


def test_drift_compares_only_requested_fields_and_ignores_env_order():
    recorded = SandboxConfig(agent="claude", template="t:1", env=("A=1", "B=2"))
    assert parse_request({}).drift(recorded) == []
    assert parse_request({"env": ["B=2", "A=1"]}).drift(recorded) == []
    assert parse_request({"env": ["A=1"], "template": "t:2"}).drift(recorded) == [
        {"field": "template", "recorded": "t:1", "requested": "t:2"},
        {"field": "env", "recorded": ["A=1", "B=2"], "requested": ["A=1"]},
    ]


def test_recreate_keeps_recorded_fields_that_were_not_requested():
    recorded = SandboxConfig(agent="claude", template="t:1", env=("A=1",), credentials="none")
    config = parse_request({"env": ["A=2"]}).resolve(recorded)
    assert config == SandboxConfig(agent="claude", template="t:1", env=("A=2",),
                                   credentials="none")
