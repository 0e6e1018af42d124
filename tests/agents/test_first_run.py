"""The README's first command on a machine that reaches no container registry (this one reaches only
Debian's archive, PyPI and npm): `berth run claude` in a terminal cannot pull Docker's template,
offers to build one, builds it from Debian's archive and npm when the user presses Enter, and runs
the real Claude Code in it, which shows its welcome screen (offline, it then says it cannot reach
Anthropic)."""

from __future__ import annotations

import contextlib
import subprocess

import docker.errors
import pytest
from berth.builds import plan
from berth.engine import template_build
from support.cli import BERTH, berth
from support.terminal import Terminal

TAG = plan.default_tag(["claude"])


@pytest.fixture
def no_claude_template(docker_api, tmp_path):
    """The engine as a new user's: no template holding claude. Those Berth built here before (found
    by their labels, whatever their tag) are saved to a file and removed, and loaded back
    afterwards."""
    tags = [t.tag for t in template_build.templates(docker_api) if "claude" in t.agents]
    saved = tmp_path / "aside.tar"
    if tags:
        subprocess.run(["docker", "save", "-o", str(saved), *tags], check=True)
        for tag in tags:
            docker_api.remove_image(tag)
    yield
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_api.remove_image(TAG, force=True)
    if tags:
        subprocess.run(["docker", "load", "-q", "-i", str(saved)], check=True)


def test_berth_run_claude_on_a_fresh_engine_builds_its_template_and_runs_the_agent(
        no_claude_template, make_workspace, docker_api):
    with pytest.raises(docker.errors.ImageNotFound):  # as on a fresh machine: no Docker template
        docker_api.inspect_image("docker/sandbox-templates:claude-code")
    workspace = make_workspace("first-run")
    term = Terminal([*BERTH, "run", "claude"], cwd=workspace, cols=120, rows=40)
    try:
        term.expect("'docker/sandbox-templates:claude-code' is not on this engine", 120)
        term.expect("Build it now? [Y/n]", 30)
        term.send("\r")
        term.expect(f"{TAG} is built: claude ", 900)
        term.expect("Welcome", 180)  # the real Claude Code, in the sandbox, in this terminal
        term.expect("Unable", 120)
        assert term.wait(120) == 1
    finally:
        term.close()
    [row] = [line for line in berth("ls", cwd=workspace).stdout.splitlines() if workspace in line]
    assert TAG in row
