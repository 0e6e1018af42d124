"""Configuration parsing, validation and layering: pure logic, no engine."""

from __future__ import annotations

import pytest
from berth.config import (
    DEFAULT_PIDS_LIMIT,
    ConfigRequest,
    SandboxConfig,
    describe_drift,
    merge_env,
    parse_env,
    parse_request,
    parse_volume,
    read_env_file,
    split_port,
)
from berth.errors import BadInput


def test_env_accepts_key_value_and_keeps_equals_in_values():
    assert parse_env(["A=1", "B=x=y", "C="]) == ("A=1", "B=x=y", "C=")


@pytest.mark.parametrize("entry, expected", [
    ("=value", "empty variable name"),
    ("NO-VALUE", "not of the form KEY=VALUE"),
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
    ({"agent": "aider"}, "Unknown agent 'aider'"),
    ({"credentials": "everything"}, "Unknown credentials mode 'everything'"),
    ({"mountDockerSocket": "yes"}, "must be true or false"),
    ({"template": "has space"}, "not a valid image reference"),
    ({"name": "-bad"}, "not a valid sandbox name"),
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
    # As read from labels: names only; the values are the container's own environment.
    recorded = SandboxConfig(agent="claude", template="t:1", env=("A", "B"))
    container_env = {"A": "1", "B": "2", "PATH": "/bin"}
    assert parse_request({}).drift(recorded, container_env) == []
    assert parse_request({"env": ["B=2", "A=1"]}).drift(recorded, container_env) == []
    assert parse_request({"env": ["A=1"], "template": "t:2"}).drift(recorded, container_env) == [
        {"field": "template", "recorded": "t:1", "requested": "t:2"},
        {"field": "env", "recorded": ["A", "B"], "requested": ["A"], "changed": []},
    ]


def test_env_drift_names_changed_keys_never_values():
    recorded = SandboxConfig(env=("TOKEN", "KEEP"))
    drift = parse_request({"env": ["TOKEN=new-secret", "KEEP=1", "ADDED=x"]}).drift(
        recorded, {"TOKEN": "old-secret", "KEEP": "1"})
    assert drift == [{"field": "env", "recorded": ["KEEP", "TOKEN"],
                      "requested": ["ADDED", "KEEP", "TOKEN"], "changed": ["TOKEN"]}]
    text = describe_drift(drift[0])
    assert text == "env: TOKEN (value changed), ADDED (added)"
    assert "secret" not in repr(drift) + text


def test_recorded_env_keeps_names_only_even_from_old_labels():
    old = SandboxConfig.from_json({"agent": "claude", "env": ["TOKEN=s3cret", "B=1"]})
    assert old.env == ("TOKEN", "B")
    assert SandboxConfig(env=("TOKEN=s3cret",)).to_json()["env"] == ["TOKEN"]
    assert old.with_env_values({"TOKEN": "s3cret", "B": "1", "PATH": "/bin"}).env == (
        "TOKEN=s3cret", "B=1")


def test_bare_env_name_passes_this_machines_value_and_never_shows_it():
    assert parse_env(["API_KEY", "B=2"], environ={"API_KEY": "sk-live"}) == ("API_KEY=sk-live", "B=2")
    with pytest.raises(BadInput, match="'MISSING_KEY' is not set on this machine"):
        parse_env(["MISSING_KEY"], environ={})
    # A bare token that happens to fit the name rules is not echoed back.
    with pytest.raises(BadInput) as info:
        parse_env(["ghp_abcdefSECRET123"], environ={})
    assert "SECRET" not in info.value.message


def test_env_file_reads_lines_comments_and_names_the_bad_line(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_HOST", "h")
    good = tmp_path / "good.env"
    good.write_text("# keys\n\nA=1\n  B=two words\nFROM_HOST\nC=x=y\n")
    assert read_env_file(str(good)) == ["A=1", "B=two words", "FROM_HOST=h", "C=x=y"]
    bad = tmp_path / "bad.env"
    bad.write_text("A=1\nTOKEN:hunter2\n")
    with pytest.raises(BadInput, match=r"bad.env', line 2: .*not of the form") as info:
        read_env_file(str(bad))
    assert "hunter2" not in info.value.message
    with pytest.raises(BadInput, match="does not exist"):
        read_env_file(str(tmp_path / "nope.env"))


def test_later_env_sources_win():
    assert merge_env(("A=file", "B=1"), ("A=flag",)) == ("A=flag", "B=1")


def test_recreate_keeps_recorded_fields_that_were_not_requested():
    recorded = SandboxConfig(agent="claude", template="t:1", env=("A=1",), credentials="none")
    config = parse_request({"env": ["A=2"]}).resolve(recorded)
    assert config == SandboxConfig(agent="claude", template="t:1", env=("A=2",),
                                   credentials="none")


def test_the_field_table_drives_the_recorded_form_and_back():
    from berth.config import FIELDS

    config = SandboxConfig(agent="gemini", template="t:1", env=("A=1",), volumes=("/a:/b:ro",),
                           mount_docker_socket=True, credentials="none", host_certificates=True,
                           name="box")
    recorded = config.to_json()
    assert list(recorded) == [f.key for f in FIELDS if f.key not in ("name", "templateSource")]
    assert recorded["env"] == ["A"] and recorded["volumes"] == ["/a:/b:ro"]
    assert SandboxConfig.from_json(recorded, name="box") == SandboxConfig(
        **{**config.__dict__, "env": ("A",)})
    assert SandboxConfig.from_json({}) == SandboxConfig()
    # Every field is a request field, and a request of every field resolves to exactly it.
    request = ConfigRequest({f.key: getattr(config, f.attr) for f in FIELDS})
    assert request.resolve(None) == config
    assert request.drift(config.with_env_values({"A": "1"}), {"A": "1"}) == []


# -- resources and ports ---------------------------------------------------------------------------

@pytest.mark.parametrize("given, kept", [
    ("2g", "2g"), ("2048m", "2g"), ("1.5g", "1536m"), ("512MiB", "512m"), ("4GB", "4g"),
    (1073741824, "1g"), ("7000000", "7000000"), ("6m", "6m"),
])
def test_memory_sizes_are_kept_in_their_shortest_exact_form(given, kept):
    assert parse_request({"memory": given}).fields["memory"] == kept


@pytest.mark.parametrize("raw, expected", [
    ({"memory": "lots"}, "'memory' 'lots' is not a memory size"),
    ({"memory": "5m"}, "below Docker's smallest memory limit, 6m"),
    ({"memory": True}, "is not a memory size"),
    ({"cpus": 0}, "'cpus' 0 is not a number of CPUs from 0.01 up"),
    ({"cpus": "two"}, "'cpus' 'two' is not a number of CPUs"),
    ({"cpus": "nan"}, "is not a number of CPUs"),
    ({"pidsLimit": 0}, "'pidsLimit' 0 is not a number of processes from 1 up"),
    ({"pidsLimit": "100"}, "is not a number of processes"),
    ({"gpus": "some"}, "'gpus' 'some' is not all, a number of GPUs or device=ID"),
    ({"ports": "8080:80"}, "'ports' must be a list"),
    ({"ports": ["8080"]}, "Port '8080' is not of the form [HOST_IP:]HOST_PORT:CONTAINER_PORT"),
    ({"ports": ["8080:80/udp"]}, "only TCP ports are published, not udp"),
    ({"ports": ["70000:80"]}, "host port 70000 is not from 1 to 65535"),
    ({"ports": ["8080:0"]}, "container port 0 is not from 1 to 65535"),
    ({"ports": ["300.1.1.1:8080:80"]}, "'300.1.1.1' is not an IP address"),
    ({"ports": ["8080:80", "127.0.0.1:8080:81"]}, "Host address 127.0.0.1:8080 is given for two"),
])
def test_bad_resources_and_ports_name_the_problem_and_value(raw, expected):
    with pytest.raises(BadInput) as caught:
        parse_request(raw)
    assert expected in caught.value.message


def test_ports_default_to_loopback_and_take_other_addresses_only_when_given():
    fields = parse_request({"ports": ["8080:3000", "0.0.0.0:9000:9000/tcp", "[::1]:7000:7000",
                                      " 10.0.0.2:443:8443 "]}).fields
    assert fields["ports"] == ("127.0.0.1:8080:3000", "0.0.0.0:9000:9000", "[::1]:7000:7000",
                               "10.0.0.2:443:8443")
    assert split_port("[::1]:7000:7001") == ("::1", 7000, 7001)


def test_limits_default_to_none_but_a_pids_limit_and_are_recorded():
    config = parse_request({}).resolve()
    assert (config.cpus, config.memory, config.pids_limit, config.gpus, config.ports) == (
        None, None, DEFAULT_PIDS_LIMIT, None, ())
    limited = parse_request({"cpus": "0.5", "memory": "1g", "pidsLimit": -1, "gpus": 2,
                             "ports": ["8080:80"]}).resolve()
    recorded = limited.to_json()
    assert {k: recorded[k] for k in ("cpus", "memory", "pidsLimit", "gpus", "ports")} == {
        "cpus": 0.5, "memory": "1g", "pidsLimit": -1, "gpus": "2",
        "ports": ["127.0.0.1:8080:80"]}
    assert SandboxConfig.from_json(recorded) == limited


def test_a_sandbox_recorded_before_limits_existed_shows_none():
    from berth.labels import recorded_config

    old = recorded_config({"dev.berth.config": '{"agent": "claude", "template": "t:1"}'}, "box")
    assert (old.pids_limit, old.cpus, old.memory, old.ports) == (-1, None, None, ())
