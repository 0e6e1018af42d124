"""The trust boundary's pure logic: which values came from the workspace, what each one means, and
reading the folder's own settings file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from berth.config import ConfigRequest, SandboxConfig, parse_request
from berth.errors import NeedsConsent
from berth.trust import (
    WorkspaceValues,
    consent_items,
    mount_warnings,
    read_settings_file,
    require_consent,
    volume_note,
)

WS = "/home/ada/project"


def req(**raw) -> ConfigRequest:
    return parse_request(raw, strict=False)


def theirs(**raw) -> WorkspaceValues:
    env = raw.get("env") or []
    return WorkspaceValues(req(**raw), frozenset(e for e in env if "=" not in e))


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[str, str]:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    return str(a), str(b)


def test_only_values_the_user_did_not_set_themselves_are_asked(dirs):
    a, b = dirs
    mine = req(volumes=[f"{a}:/a"], template="mine:1", credentials="sandbox")
    ws = theirs(volumes=[f"{a}:/a", f"{b}:/b"], template="mine:1", credentials="isolated")
    effective = req(volumes=[f"{a}:/a", f"{b}:/b"], template="mine:1", credentials="isolated")
    items = consent_items(WS, effective, mine, ws)
    # Their `a` is also the user's; isolated credentials widen nothing.
    assert [(i.field, i.value) for i in items] == [("volumes", f"{b}:/b")]


def test_scalars_that_widen(dirs):
    ws = theirs(template="evil:1", mountDockerSocket=True, hostCertificates=True,
                credentials="host")
    effective = ws.request
    items = {i.field: i for i in consent_items(WS, effective, ConfigRequest(), ws)}
    assert set(items) == {"template", "mountDockerSocket", "hostCertificates", "credentials"}
    assert "root-equivalent" in items["mountDockerSocket"].note
    assert "~/.ssh" in items["credentials"].note
    off = theirs(mountDockerSocket=False, hostCertificates=False, templateSource="docker")
    assert consent_items(WS, off.request, ConfigRequest(), off) == []


def test_a_workspace_choosing_berths_own_templates_is_asked():
    # Another image than Docker's, maybe trusting this machine's CAs: the user says so, not a repo.
    ws = theirs(templateSource="berth")
    [item] = consent_items(WS, ws.request, ConfigRequest(), ws)
    assert (item.field, item.value) == ("templateSource", "berth")
    assert "berth template build" in item.note
    mine = req(templateSource="berth")
    assert consent_items(WS, ws.request, mine, ws) == []


def test_a_client_that_cannot_tell_counts_every_value_in_the_folders_file():
    ws = theirs(template="evil:1")
    assert [i.field for i in consent_items(WS, req(template="evil:1"), None, ws)] == ["template"]
    # ...but only when it is the value in effect.
    assert consent_items(WS, req(template="other:1"), None, ws) == []


def test_env_items_carry_names_and_a_changed_value_is_a_new_question(monkeypatch):
    monkeypatch.setenv("HOST_TOKEN", "t0ken")
    one = theirs(env=["A=1", "HOST_TOKEN"])
    items = consent_items(WS, one.request, ConfigRequest(), one)
    assert [(i.value, i.note) for i in items] == [
        ("A", "a value the workspace's settings set"),
        ("HOST_TOKEN", "your own value of HOST_TOKEN, from Berth's environment")]
    assert all("t0ken" not in str(i.to_json()) and "1" not in str(i.value) for i in items)
    two = theirs(env=["A=2", "HOST_TOKEN"])
    ids_two = [i.id for i in consent_items(WS, two.request, ConfigRequest(), two)]
    assert ids_two[0] != items[0].id and ids_two[1] == items[1].id
    # Another workspace asking the same is another question.
    assert consent_items("/elsewhere", one.request, ConfigRequest(), one)[0].id != items[0].id


def test_ports_gpus_and_no_pids_limit_from_the_workspace_are_asked_about():
    ws = theirs(ports=["8080:3000", "0.0.0.0:2222:22"], gpus="all", pidsLimit=-1, cpus=1,
                memory="1g")
    items = consent_items(WS, ws.request, req(ports=["8080:3000"]), ws)
    assert [(i.field, i.value) for i in items] == [
        ("gpus", "all"), ("pidsLimit", -1), ("ports", "0.0.0.0:2222:22")]
    # A limit as good as none is asked about too; one tighter than the user's own is not.
    huge = theirs(pidsLimit=4_000_000)
    [item] = consent_items(WS, huge.request, ConfigRequest(), huge)
    assert (item.field, item.note) == ("pidsLimit", "more processes than your own limit (4096)")
    assert consent_items(WS, huge.request, req(pidsLimit=-1), huge) == []
    assert "reachable from other machines" in items[2].note
    assert "fork bomb" in items[1].note
    # Limits that narrow widen nothing.
    narrow = theirs(pidsLimit=100, cpus=0.5, memory="512m")
    assert consent_items(WS, narrow.request, ConfigRequest(), narrow) == []

    class Existing:
        config = SandboxConfig(ports=("0.0.0.0:2222:22",), gpus="all", pids_limit=-1)

    require_consent(items, [], "x")(Existing(), {})


def test_the_guard_accepts_what_the_sandbox_being_recreated_already_has(dirs):
    a, _ = dirs

    class Existing:
        config = SandboxConfig(volumes=(f"{a}:/a",), env=("A",))

    ws = theirs(volumes=[f"{a}:/a"], env=["A=1"])
    items = consent_items(WS, ws.request, ConfigRequest(), ws)
    guard = require_consent(items, [], "x")
    guard(Existing(), {"A": "1"})
    with pytest.raises(NeedsConsent) as raised:
        guard(Existing(), {"A": "other"})  # same name, another value: ask
    assert [i["field"] for i in raised.value.data["items"]] == ["env"]
    with pytest.raises(NeedsConsent):
        guard(None, {})
    require_consent(items, [i.id for i in items], "x")(None, {})
    assert require_consent([], [], "x") is None


def test_what_a_mount_hands_over(tmp_path, monkeypatch):
    home = tmp_path / "home" / "ada"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    sock = tmp_path / "run" / "engine.sock"
    sock.parent.mkdir()
    sock.touch()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
    assert volume_note(f"{home}:/h") == "your home folder, read-write"
    assert volume_note(f"{tmp_path / 'home'}:/h:ro") == "contains your home folder, read-only"
    assert volume_note("/:/host:ro") == \
        "the host's whole file system, with the Docker engine's socket, read-only"
    assert volume_note(f"{sock}:/var/run/docker.sock").startswith("the Docker engine's socket")
    assert volume_note(f"{sock.parent}:/r").startswith("contains the Docker engine's socket")
    assert volume_note("/var/run/docker.sock:/s").startswith("the Docker engine's socket")
    assert volume_note(f"{tmp_path}/run2:/x") == "a host folder, read-write"
    warnings = mount_warnings(SandboxConfig(volumes=(f"{home}:/h", f"{sock}:/s", "/opt:/o")))
    assert len(warnings) == 2 and "home folder" in warnings[0] and "socket" in warnings[1]


def test_reading_the_folders_settings_file(tmp_path):
    assert read_settings_file(str(tmp_path)) is None
    vscode = tmp_path / ".vscode"
    vscode.mkdir()
    (vscode / "settings.json").write_text(
        '// a comment\n{\n  "editor.tabSize": 2, /* block */\n'
        '  "berth.template": "http://not-a-comment//x",\n'
        '  "berth": {"volumes": ["/a:/a"]},\n  "berth.env": ["A=1",],\n}\n')
    assert read_settings_file(str(tmp_path)) == {
        "template": "http://not-a-comment//x", "volumes": ["/a:/a"], "env": ["A=1"]}
    (vscode / "settings.json").write_text("{ not json")
    assert read_settings_file(str(tmp_path)) is None
    (vscode / "settings.json").unlink()
    os.mkfifo(vscode / "settings.json")  # an agent's trap: reading it must not hang the server
    assert read_settings_file(str(tmp_path)) is None


def test_one_broken_entry_in_the_folders_settings_hides_nothing_else(tmp_path):
    from berth.lsp.folders import Folders

    folders = Folders()
    folder = folders.add(str(tmp_path))
    vscode = tmp_path / ".vscode"
    vscode.mkdir()
    (vscode / "settings.json").write_text(
        '{"berth.volumes": ["/tmp:/mnt/tmp"], "berth.env": ["=broken"]}')
    # A client that forwards only the volume, as plain settings.
    folders.apply(folder, {"volumes": ["/tmp:/mnt/tmp"]})
    items = folders.consent_items(folder.path, ConfigRequest())
    assert [(i.field, i.value) for i in items] == [("volumes", "/tmp:/mnt/tmp")]


def test_a_workspace_may_narrow_the_network_but_not_widen_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    narrower = theirs(networkPolicy="locked", denyHosts=["*.example.com"])
    assert consent_items(WS, narrower.request, req(networkPolicy="balanced"), narrower) == []
    wider = theirs(networkPolicy="open", allowHosts=["paste.example", "*.npmjs.org"])
    items = consent_items(WS, wider.request, req(networkPolicy="balanced",
                                                 allowHosts=["*.npmjs.org"]), wider)
    assert [(i.field, i.value) for i in items] == [("networkPolicy", "open"),
                                                   ("allowHosts", "paste.example")]
    assert "no network restriction" in items[0].note
    # Against the user's own default (their config file) when their settings name no policy.
    (tmp_path / "berth").mkdir()
    (tmp_path / "berth" / "config.toml").write_text('[defaults]\nnetworkPolicy = "locked"\n')
    balanced = theirs(networkPolicy="balanced")
    [item] = consent_items(WS, balanced.request, ConfigRequest(), balanced)
    assert (item.field, item.value) == ("networkPolicy", "balanced")


def test_another_agent_is_asked_its_own_default_is_not(tmp_path, monkeypatch):
    # Another agent brings the user's login for it (its credentials volume) and its API hosts.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    codex = theirs(agent="codex")
    [item] = consent_items(WS, codex.request, ConfigRequest(), codex)
    assert (item.field, item.value) == ("agent", "codex")
    assert "OpenAI Codex CLI" in item.note and "login" in item.note
    assert consent_items(WS, codex.request, req(agent="codex"), codex) == []
    claude = theirs(agent="claude")  # Berth's default, when the user's config names none
    assert consent_items(WS, claude.request, ConfigRequest(), claude) == []
    (tmp_path / "berth").mkdir()
    (tmp_path / "berth" / "config.toml").write_text('[defaults]\nagent = "codex"\n')
    assert consent_items(WS, codex.request, ConfigRequest(), codex) == []
    [item] = consent_items(WS, claude.request, ConfigRequest(), claude)
    assert (item.field, item.value) == ("agent", "claude")
