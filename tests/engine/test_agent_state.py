"""The agent's state in the credentials volume against the real engine: its hand-over between
sandboxes of different owners, links planted in it, `isolated`, host certificates, and the user's own
agents. (The real agents' binaries are proven in tests/agents.)"""

from __future__ import annotations

import os
import uuid

import pytest
from berth.config import parse_request
from berth.engine import Engine
from berth.engine.commands import run_command
from berth.errors import BadInput
from support.engine import run, user_mounts
from support.images import CLAUDE, HOST_UID


def sh(engine: Engine, workspace: str, script: str, *, root: bool = False):
    if root:
        sandbox = engine.require(workspace)
        return run_command(engine.api, sandbox, ["sh", "-c", script], user="0")
    return engine.exec(workspace, ["sh", "-c", script])


def test_a_login_written_mode_600_reaches_a_sandbox_of_another_owner(engine, make_workspace):
    mine, theirs = make_workspace("mine"), make_workspace("theirs", owner=1001)
    run(engine, mine)
    name = f"login-{uuid.uuid4().hex[:6]}.json"
    assert sh(engine, mine, f"umask 077; echo token > ~/.claude/{name}").exit_code == 0
    run(engine, theirs)
    out = sh(engine, theirs, f"id -u; cat ~/.claude/{name} && echo again > ~/.claude/{name}")
    assert out.stdout == "1001\ntoken\n", out.stderr
    # Back to the first: the file its agent can no longer read is handed back on `run`.
    run(engine, mine)
    assert sh(engine, mine, f"cat ~/.claude/{name}; rm ~/.claude/{name}").stdout == "again\n"


def test_links_planted_in_the_volume_are_never_followed(engine, make_workspace):
    """What an agent writes in the shared volume is hostile: setup and the hand-over, running as
    root, must not change anything a planted link points at."""
    planter, victim = make_workspace("planter"), make_workspace("victim", owner=1001)
    run(engine, planter)
    tag = uuid.uuid4().hex[:6]
    planted = sh(engine, planter, f"ln -s /etc/passwd ~/.claude/passwd-{tag} && "
                                  f"ln -s /etc ~/.claude/etc-{tag}")
    assert planted.exit_code == 0, planted.stderr
    run(engine, victim)  # a new sandbox: setup, and the volume handed to uid 1001
    owners = sh(engine, victim, "stat -c %u /etc/passwd /etc /etc/group", root=True)
    assert owners.stdout.split() == ["0", "0", "0"]
    sh(engine, victim, f"rm -f ~/.claude/passwd-{tag} ~/.claude/etc-{tag}")


def test_a_mount_inside_the_volume_is_never_handed_over(engine, make_workspace, tmp_path):
    """The hand-over never crosses into another mount: a user's folder mounted inside the agent's
    volume keeps its owner."""
    workspace = make_workspace("inner")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "file").write_text("x")
    os.chown(mine, 4321, 4321)
    os.chown(mine / "file", 4321, 4321)
    run(engine, workspace, volumes=[f"{mine}:/mnt/claude-data/mounted-{uuid.uuid4().hex[:6]}"])
    assert (mine.stat().st_uid, (mine / "file").stat().st_uid) == (4321, 4321)


def test_isolated_credentials_are_the_workspaces_own(engine, make_workspace, docker_api):
    a, b = make_workspace("iso-a"), make_workspace("iso-b")
    ra = run(engine, a, credentials="isolated")
    run(engine, b, credentials="isolated")
    sh(engine, a, "echo only-a > ~/.claude/iso.json")
    assert sh(engine, b, "cat ~/.claude/iso.json").exit_code != 0
    volumes = [m["Name"] for m in user_mounts(docker_api.inspect_container(
        ra.sandbox.full_id)["Mounts"]) if m["Type"] == "volume"]
    assert len(volumes) == 1 and volumes[0].startswith("berth-claude-credentials-")
    engine.remove(workspace=a)
    run(engine, a, credentials="isolated")  # kept after rm, like the shared one
    assert sh(engine, a, "cat ~/.claude/iso.json").stdout == "only-a\n"
    engine.remove(workspace=a)
    engine.remove(workspace=b)
    for name in {volumes[0], f"berth-claude-credentials-{volumes[0].rsplit('-', 1)[1]}"}:
        docker_api.remove_volume(name)


def test_host_certificates_are_trusted_and_proxies_passed(engine, workspace, tmp_path,
                                                         monkeypatch):
    bundle = tmp_path / "bundle.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nberth-test-ca\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("https_proxy", raising=False)
    # The host's proxy is passed to an open sandbox; a filtered one's way out is its own proxy.
    run(engine, workspace, hostCertificates=True, env=["CURL_CA_BUNDLE=/mine.crt"],
        networkPolicy="open")
    script = ('cat "$NODE_EXTRA_CA_CERTS"; echo "$SSL_CERT_FILE $REQUESTS_CA_BUNDLE '
              '$CURL_CA_BUNDLE $HTTPS_PROXY $https_proxy"')
    out = sh(engine, workspace, script)
    assert out.stdout.splitlines() == [
        *bundle.read_text().splitlines(),
        "/etc/berth/host-ca-certificates.crt /etc/berth/host-ca-certificates.crt /mine.crt "
        "http://proxy.example:3128 http://proxy.example:3128"]
    [details] = engine.inspect(workspace=workspace)
    assert details.config.host_certificates is True
    run(engine, workspace, hostCertificates=True, env=["CURL_CA_BUNDLE=/mine.crt"],
        networkPolicy="balanced", recreate=True)
    assert sh(engine, workspace, script).stdout.splitlines()[-1].endswith(
        " http://berth-proxy:3128 http://berth-proxy:3128")


def test_host_certificates_without_a_bundle_is_a_clear_error(engine, workspace, monkeypatch,
                                                            docker_api):
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/bundle.crt")
    monkeypatch.setattr("berth.host_trust._BUNDLES", ())
    with pytest.raises(BadInput, match="no CA bundle"):
        run(engine, workspace, hostCertificates=True)
    from support.containers import sandboxes_of
    assert sandboxes_of(docker_api, workspace) == []


def test_an_agent_of_the_users_config_file_runs(engine, workspace, user_config_home):
    (user_config_home / "berth").mkdir()
    (user_config_home / "berth" / "config.toml").write_text(
        '[agents.mine]\nbinary = "claude"\ntemplate = "' + CLAUDE + '"\nargs = ["--mine"]\n'
        'state = ["~/.mine", "~/.config/mine"]\n')
    result = engine.run(workspace, parse_request({"agent": "mine"}))
    assert result.sandbox.agent == "mine" and result.sandbox.template == CLAUDE
    assert result.attach[-2:] == ["claude", "--mine"]
    out = sh(engine, workspace, "readlink ~/.mine; readlink ~/.config/mine; stat -c %u ~/.config")
    assert out.stdout.split() == ["/mnt/mine-data", "/mnt/mine-data/.berth-home/.config/mine",
                                  str(HOST_UID)]
    engine.remove(workspace=workspace)
