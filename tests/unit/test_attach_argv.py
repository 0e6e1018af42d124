"""The `docker exec` argv that attaches the agent or a shell, built once for whoever runs it."""

from __future__ import annotations

import pytest
from berth.config import SandboxConfig
from berth.engine.commands import attach_argv, shell_argv
from berth.models import Sandbox


def sandbox(agent: str = "claude", user: str = "agent") -> Sandbox:
    return Sandbox(id="951f5b3c2f0a", full_id="951f5b3c2f0a" + "0" * 52, name="n", workspace="/w s",
                   agent=agent, template="t", status="running", created_at="", user=user,
                   config=SandboxConfig(agent=agent))


@pytest.fixture(autouse=True)
def no_docker_host(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)


def test_the_agent_with_its_default_arguments_then_the_users():
    assert attach_argv(sandbox(), ["-c"]) == [
        "docker", "exec", "-it", "-e", "TERM", "-e", "COLORTERM", "-u", "agent", "-w", "/w s",
        "951f5b3c2f0a", "claude", "--dangerously-skip-permissions", "-c"]


def test_without_a_terminal_it_is_interactive_without_a_tty():
    argv = attach_argv(sandbox(), tty=False)
    assert argv[:3] == ["docker", "exec", "-i"] and "-it" not in argv
    assert shell_argv(sandbox(), tty=False)[2] == "-i"


def test_shell_runs_the_words_as_a_command_and_root_has_no_user(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://engine:2375")
    argv = attach_argv(sandbox("shell", user=""), ["ls", "-l"])
    assert argv[:5] == ["docker", "-H", "tcp://engine:2375", "exec", "-it"] and "-u" not in argv
    assert argv[-2:] == ["-c", "ls -l"] and argv[:-2] == shell_argv(sandbox("shell", user=""))
