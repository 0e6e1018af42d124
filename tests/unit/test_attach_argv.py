"""The `docker exec` argv that starts or attaches an agent's session, or a shell, built once for
whoever runs it."""

from __future__ import annotations

import pytest
from berth.config import SandboxConfig
from berth.engine.commands import agent_command, attach_argv, session_attach_argv, shell_argv
from berth.models import Sandbox

HOLDER = "/usr/local/lib/berth/berth-session-0123456789ab"


def sandbox(agent: str = "claude", user: str = "agent") -> Sandbox:
    return Sandbox(id="951f5b3c2f0a", full_id="951f5b3c2f0a" + "0" * 52, name="n", workspace="/w s",
                   agent=agent, template="t", status="running", created_at="", user=user,
                   config=SandboxConfig(agent=agent))


ENGINE = ["-H", "unix:///var/run/docker.sock"]


@pytest.fixture(autouse=True)
def default_engine(monkeypatch, tmp_path):
    # The default engine, named on the command line whatever the terminal's environment says.
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))


def test_a_new_session_of_the_agent_with_its_default_arguments_then_the_users(tmp_path):
    assert attach_argv(sandbox(), HOLDER, ["-c"]) == [
        "docker", "--config", str(tmp_path), *ENGINE, "exec", "-it", "-e", "TERM", "-e",
        "COLORTERM", "-u", "agent", "-w", "/w s",
        "951f5b3c2f0a", HOLDER, "new", "--agent", "claude", "--attach", "--",
        "claude", "--dangerously-skip-permissions", "-c"]


def test_without_a_terminal_the_agent_runs_directly_without_a_tty():
    argv = attach_argv(sandbox(), HOLDER, tty=False)
    assert argv[3:6] == [*ENGINE, "exec"] and argv[6] == "-i"
    assert "-it" not in argv and HOLDER not in argv
    assert argv[-2:] == ["claude", "--dangerously-skip-permissions"]
    assert shell_argv(sandbox(), tty=False)[6] == "-i"


def test_framed_clients_get_no_tty_and_the_framed_holder():
    argv = attach_argv(sandbox(), HOLDER, framed=True)
    assert argv[6] == "-i" and argv[argv.index("--attach") + 1] == "--framed"
    assert session_attach_argv(sandbox(), HOLDER, "claude-2", framed=True)[-4:] == [
        HOLDER, "attach", "--framed", "claude-2"]
    assert session_attach_argv(sandbox(), HOLDER, "claude-2")[6] == "-it"


def test_shell_runs_the_words_as_a_command_and_root_has_no_user(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", "tcp://engine:2375")
    argv = attach_argv(sandbox("shell", user=""), HOLDER, ["ls", "-l"])
    assert argv[:7] == ["docker", "--config", str(tmp_path), "-H", "tcp://engine:2375", "exec",
                        "-it"] and "-u" not in argv
    assert argv[-2:] == ["-c", "ls -l"]
    assert argv[argv.index("--") + 1:-2] == shell_argv(sandbox("shell", user=""))[-4:]
    assert agent_command(sandbox("shell", user="")) == shell_argv(sandbox("shell", user=""))[-4:]
