"""The real agents, from their real binaries (tests/images/real builds them into berth-test/agents:1):
each runs in its sandbox through `berth`, and a login made once is there after `rm` + `run`, in another
workspace's sandbox, and across workspaces of two different owners, as the agent itself reports it.

Everything goes through the `berth` CLI, as a user would. Logins are made the way each agent makes
them where it can be done offline (`codex login --with-api-key`), or by writing the file the agent
writes at the place it writes it; the agent's own status command then says whether it is logged in.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.cli import BERTH, berth, sh
from support.containers import sandboxes_of
from support.images import HOST_UID

OTHER_UID = 1001
HERE = Path(__file__).parent


@dataclass(frozen=True)
class Login:
    version: str  # what `AGENT --version` prints
    write: str  # a shell script, run as the agent user in the sandbox, that logs the agent in
    status: str  # the agent's own report
    logged_in: str  # in that report when logged in
    logged_out: str | None = None  # in it when not


# Fake keys and tokens: nothing here can reach the agents' services, and nothing needs to.
LOGINS = {
    "claude": Login(
        version="(Claude Code)",
        # Where Claude Code keeps its login on Linux ($CLAUDE_CONFIG_DIR, set by Berth to the
        # volume), in the shape `/login` writes.
        write='umask 077; printf %s \'{"claudeAiOauth":{"accessToken":"sk-ant-oat01-berth-test",'
              '"refreshToken":"sk-ant-ort01-berth-test","expiresAt":4102444800000,'
              '"scopes":["user:inference","user:profile"],"subscriptionType":"pro"}}\' '
              '> "${CLAUDE_CONFIG_DIR:-$HOME/.claude}/.credentials.json"',
        status="claude auth status",
        logged_in='"loggedIn": true',
        logged_out='"loggedIn": false',
    ),
    "codex": Login(
        version="codex-cli",
        write="echo sk-berth-test-0123456789 | codex login --with-api-key",
        status="codex login status",
        logged_in="API key configured",
        logged_out="Not logged in",
    ),
    "opencode": Login(
        version=".",
        write='mkdir -p ~/.local/share/opencode && umask 077 && printf %s '
              '\'{"anthropic":{"type":"api","key":"sk-ant-berth-test"}}\' '
              '> ~/.local/share/opencode/auth.json',
        status="opencode auth list",
        logged_in="1 credentials",
        logged_out="0 credentials",
    ),
    "gemini": Login(
        version=".",
        # Gemini CLI's Google login (oauth_creds.json, mode 600) and its choice of it.
        write='umask 077; printf %s \'{"access_token":"ya29.berth-test","refresh_token":"1//berth",'
              '"token_type":"Bearer","expiry_date":4102444800000}\' > ~/.gemini/oauth_creds.json '
              '&& printf %s \'{"security":{"auth":{"selectedType":"oauth-personal"}}}\' '
              '> ~/.gemini/settings.json',
        status="cat ~/.gemini/oauth_creds.json ~/.gemini/settings.json",
        logged_in='"selectedType":"oauth-personal"',
    ),
    "copilot": Login(
        version=".",
        # Copilot CLI's own config, where it keeps the signed-in user (and, without a keychain,
        # the token).
        write='mkdir -p ~/.copilot && umask 077 && printf %s \'{"logged_in_users":[{"host":'
              '"https://github.com","login":"berth-test"}],"last_logged_in_user":{"host":'
              '"https://github.com","login":"berth-test"}}\' > ~/.copilot/config.json',
        status="cat ~/.copilot/config.json",
        logged_in='"login":"berth-test"',
    ),
}


@pytest.mark.parametrize("agent", sorted(LOGINS))
def test_the_real_agent_runs_in_its_sandbox(agent, real_template, make_workspace):
    workspace = make_workspace(agent)
    created = berth("run", "-d", "-t", real_template, agent, cwd=workspace)
    assert created.returncode == 0, created.stderr
    version = berth("exec", agent, "--version", cwd=workspace)
    assert version.returncode == 0 and LOGINS[agent].version in version.stdout, version
    # Through `run`, as a user types it: the agent's own permission-prompt flags come first, and
    # the agent accepts them.
    ran = berth("run", agent, "--version", cwd=workspace, input="")
    assert ran.returncode == 0 and LOGINS[agent].version in ran.stdout, ran
    whoami = sh(workspace, "id -u; touch made-by-agent")
    assert whoami.stdout.strip() == str(HOST_UID)
    assert Path(workspace, "made-by-agent").stat().st_uid == HOST_UID


@pytest.mark.parametrize("agent", sorted(LOGINS))
def test_a_login_survives_rm_and_reaches_other_workspaces_and_owners(agent, real_template,
                                                                     make_workspace, docker_api):
    login = LOGINS[agent]
    mine, other = make_workspace(f"{agent}-a"), make_workspace(f"{agent}-b", owner=OTHER_UID)
    for workspace in (mine, other):
        assert berth("run", "-d", "-t", real_template, agent, cwd=workspace).returncode == 0
    # A fresh start: no login from an earlier test (the volume is the agent's, shared).
    if login.logged_out:
        sh(mine, "rm -rf ~/.codex/auth.json ~/.local/share/opencode/auth.json "
                 '"${CLAUDE_CONFIG_DIR:-/nonexistent}/.credentials.json"')
        assert login.logged_out in _status(mine, login)
    made = sh(mine, login.write)
    assert made.returncode == 0, made
    assert login.logged_in in _status(mine, login)

    # rm + run: a new container, the same login.
    first = sandboxes_of(docker_api, mine)[0]["Id"]
    assert berth("rm", first[:12], cwd=mine).returncode == 0
    assert berth("run", "-d", "-t", real_template, agent, cwd=mine).returncode == 0
    assert sandboxes_of(docker_api, mine)[0]["Id"] != first
    assert login.logged_in in _status(mine, login)

    # Another workspace, owned by another uid: its agent runs as that uid, reads the login, and
    # can write it again (logins are refreshed by the agent).
    assert login.logged_in in _status(other, login)
    again = sh(other, login.write)
    assert again.returncode == 0, again
    assert sh(other, "id -u").stdout.strip() == str(OTHER_UID)
    # And back: the first workspace's agent (uid HOST_UID) reads what uid OTHER_UID wrote.
    assert berth("run", "-d", "-t", real_template, agent, cwd=mine).returncode == 0
    assert login.logged_in in _status(mine, login)


def _status(workspace: str, login: Login) -> str:
    out = sh(workspace, f"timeout 60 {login.status} 2>&1")
    text = out.stdout + out.stderr
    # No agent may report a lost or broken configuration.
    for sign in ("configuration file not found", "Permission denied", "EACCES", "corrupt"):
        assert sign not in text, text
    return text


def test_claude_keeps_its_identity_and_onboarding_across_rm(real_template, make_workspace,
                                                            docker_api):
    """Claude Code's ~/.claude.json (its userID and onboarding) lives beside ~/.claude: Berth keeps
    both in the volume, so `rm` + `run` is the same Claude, with no 'configuration file not found'."""
    workspace = make_workspace("claude-id")
    assert berth("run", "-d", "-t", real_template, "claude", cwd=workspace).returncode == 0
    # Its first start writes the file (offline it then stops: not logged in, or no network).
    sh(workspace, "timeout 20 claude -p hi >/dev/null 2>&1; true")
    before = json.loads(sh(workspace, 'cat "$CLAUDE_CONFIG_DIR/.claude.json"').stdout)
    assert before.get("userID")
    container = sandboxes_of(docker_api, workspace)[0]["Id"]
    assert berth("rm", container[:12], cwd=workspace).returncode == 0
    assert berth("run", "-d", "-t", real_template, "claude", cwd=workspace).returncode == 0
    out = sh(workspace, "timeout 20 claude -p hi 2>&1; true")
    assert "configuration file not found" not in out.stdout
    after = json.loads(sh(workspace, 'cat "$CLAUDE_CONFIG_DIR/.claude.json"').stdout)
    assert after["userID"] == before["userID"]
    # Nothing of Claude's is left in the home, where it would die with the container.
    assert sh(workspace, "ls -A ~").stdout.split().count(".claude.json") == 0


def test_shell_is_a_login_shell_with_no_agent(real_template, make_workspace):
    workspace = make_workspace("shell")
    ran = berth("run", "-t", real_template, "shell", "echo", "$0", "in", "$PWD", cwd=workspace,
                input="")
    assert ran.returncode == 0, ran
    assert ran.stdout.strip().endswith(f"bash in {workspace}"), ran.stdout


def test_host_certificates_reach_the_system_store_of_a_real_template(real_template, make_workspace,
                                                                     tmp_path):
    """Behind a TLS-inspecting proxy: the host's bundle joins the template's own system store (so
    git, curl, apt, Python and Node all trust it), and the variables name it."""
    # A CA of this test's own, unknown to the template, at the end of the host's bundle.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=berth-test-proxy-ca", "-keyout", str(tmp_path / "ca.key"),
                    "-out", str(tmp_path / "ca.crt")], check=True, capture_output=True)
    own = (tmp_path / "ca.crt").read_text()
    bundle = tmp_path / "host-bundle.crt"
    bundle.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + own)
    workspace = make_workspace("certs")
    created = subprocess.run([*BERTH, "run", "-d", "--host-certificates", "-t", real_template,
                              "shell"], cwd=workspace, capture_output=True, text=True, timeout=180,
                             env={**os.environ, "SSL_CERT_FILE": str(bundle)})
    assert created.returncode == 0, created.stderr
    body = own.split("-----BEGIN CERTIFICATE-----")[1].split("-----END")[0].strip()
    store = sh(workspace, "test -f /usr/local/share/ca-certificates/berth-host.crt && "
                          "cat /etc/ssl/certs/ca-certificates.crt; echo; echo $NODE_EXTRA_CA_CERTS")
    assert body in store.stdout
    assert store.stdout.rstrip().endswith("/etc/berth/host-ca-certificates.crt")
    node = sh(workspace, "node -e 'console.log(require(\"fs\").existsSync("
                         "process.env.NODE_EXTRA_CA_CERTS))'")
    assert node.stdout == "true\n"
