"""Templates Berth builds itself, against the real engine, Debian's archive and the npm registry: a
cold build of the real Claude Code and Codex with no registry image, the agents run through `berth
run`/`exec`, `update` moving to current versions, the build's failures named by step with nothing
tagged, a cancel, and `berth run`'s offer to build when no template can be had.

The build trusts this machine's CA certificates (`--host-certificates`): these machines reach npm
through a TLS-inspecting proxy, as many corporate ones do.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from berth import host_trust
from berth.builds import plan
from berth.engine import Engine
from berth.engine.template_build import Cancel
from berth.errors import BadInput, TemplateProblem
from support.images import has_image
from support.terminal import Terminal

BERTH = [sys.executable, "-m", "berth.cli"]
# An older release of Claude Code than the newest, for `update` to move from.
OLD_CLAUDE = "2.1.330"


def berth(*args: str, cwd: str | None = None, timeout: float = 600):
    return subprocess.run([*BERTH, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def unique_tag(what: str) -> str:
    return f"berth.local/template:test-{what}-{uuid.uuid4().hex[:8]}"


def write_config(home: Path, text: str) -> None:
    (home / "berth").mkdir(exist_ok=True)
    (home / "berth" / "config.toml").write_text(text)


def engine_cleaned_up(api, before: set[str], since: int, seconds: float = 60) -> bool:
    """Whether the engine removed every container made since `before` was taken (a cancelled build's
    step container goes when the engine has stopped it), waiting on its destroy events."""
    if containers(api) <= before:
        return True
    for _event in api.events(since=since, until=int(time.time() + seconds), decode=True,
                             filters={"type": "container", "event": "destroy"}):
        if containers(api) <= before:
            return True
    return containers(api) <= before


def containers(api) -> set[str]:
    """Every container on the engine: a build's steps run in containers of their own, which must
    not stay behind."""
    return {c["Id"] for c in api.containers(all=True)}


@pytest.fixture(scope="module")
def cold(docker_api):
    """claude and codex, every step built again (no cache), on the base Berth makes from Debian's
    archive where no registry answers: what a fresh machine does."""
    tag = unique_tag("cold")
    seen: list[str] = []
    built = Engine().build_template(["claude", "codex"], tag=tag, host_certificates=True,
                                    no_cache=True, progress=lambda _p, m: seen.append(m))
    yield built, seen
    docker_api.remove_image(tag, force=True)


def test_a_cold_build_holds_the_real_agents_at_their_current_versions(cold, docker_api):
    built, seen = cold
    assert built.agents == ("claude", "codex") and not built.up_to_date
    # No registry image: debian:bookworm-slim cannot be pulled here, so the base is Berth's own.
    assert built.base == "berth.local/base:bookworm" and built.base_source == "debootstrap"
    labels = docker_api.inspect_image(built.tag)["Config"]["Labels"]
    versions = json.loads(labels[plan.VERSIONS])
    assert versions == built.versions
    assert set(versions) == {"claude", "codex", "node", "npm"} and versions["node"].startswith("24.")
    assert labels[plan.BASE] == built.base and labels[plan.BUILT] == built.built
    # Each step was named as it ran, and each agent answered --version offline in the new image.
    assert any("installing the agents (npm install -g @anthropic-ai/claude-code@" in m for m in seen)
    assert f"claude: {versions['claude']} (Claude Code)" in seen
    assert f"codex: codex-cli {versions['codex']}" in seen
    user = docker_api.inspect_image(built.tag)["Config"]["User"]
    assert user == "agent"


def test_the_agents_run_through_berth_run_and_exec(cold, make_workspace):
    built, _ = cold
    for agent, want in (("claude", "(Claude Code)"), ("codex", "codex-cli")):
        workspace = make_workspace(agent)
        made = berth("run", "-d", "-t", built.tag, "--network-policy", "open", agent,
                     cwd=workspace)
        assert made.returncode == 0, made.stderr
        out = berth("exec", agent, "--version", cwd=workspace)
        assert out.returncode == 0 and want in out.stdout, out.stderr
        assert built.versions[agent] in out.stdout
        # The agent user writes the workspace as its owner, and sudo works.
        who = berth("exec", "sh", "-c", "touch made && stat -c %u made && sudo -n true && echo ok",
                     cwd=workspace)
        assert who.stdout.split() == [str(Path(workspace).stat().st_uid), "ok"], who.stderr
        details = json.loads(berth("inspect", "-w", workspace).stdout)[0]
        assert details["builtTemplate"]["versions"][agent] == built.versions[agent]


def test_a_warm_rebuild_with_no_change_builds_nothing(cold):
    built, _ = cold

    def rebuild() -> str:
        out = berth("template", "build", "claude", "codex", "--tag", built.tag,
                    "--host-certificates")
        assert out.returncode == 0, out.stderr
        return out.stdout

    said = rebuild()
    if " is built: " in said:
        # The registry published a release since the cold build (Node 24 moved during a run once):
        # a change, so built; with none since, the next build is up to date.
        assert built.describe().split(" on ")[0] not in said
        said = rebuild()
    assert f"{built.tag} is up to date: claude " in said
    listed = json.loads(berth("template", "ls", "--json").stdout)
    [row] = [t for t in listed if t["tag"] == built.tag]
    assert said.strip().endswith(f"built {row['built']}")
    assert f"claude {row['versions']['claude']}, codex {row['versions']['codex']}" in said


def test_update_moves_to_the_current_versions_and_keeps_pins(cold, docker_api, user_config_home):
    built, _ = cold
    tag = unique_tag("update")
    # A version the user's recipe pins, then unpins: update moves to the current one.
    write_config(user_config_home, f'[recipes.claude]\nversion = "{OLD_CLAUDE}"\n')
    try:
        old = berth("template", "build", "claude", "--tag", tag, "--host-certificates")
        assert old.returncode == 0, old.stderr
        assert f"claude {OLD_CLAUDE}" in old.stdout
        write_config(user_config_home, "")
        updated = berth("template", "update", tag, "--host-certificates")
        assert updated.returncode == 0, updated.stderr
        assert f"{tag}: claude {OLD_CLAUDE} -> {built.versions['claude']}" in updated.stdout
        labels = docker_api.inspect_image(tag)["Config"]["Labels"]
        assert json.loads(labels[plan.VERSIONS])["claude"] == built.versions["claude"]

        # A pin given on the command line is recorded, and update keeps it.
        pinned = berth("template", "build", f"claude@{OLD_CLAUDE}", "--tag", tag,
                       "--host-certificates")
        assert pinned.returncode == 0, pinned.stderr
        again = berth("template", "update", tag, "--host-certificates")
        assert again.returncode == 0 and f"{tag}: current (claude {OLD_CLAUDE}" in again.stdout
    finally:
        docker_api.remove_image(tag, force=True)


def test_no_network_to_the_os_archive_is_named_and_tags_nothing(cold, docker_api,
                                                                 user_config_home):
    tag = unique_tag("offline")
    before = containers(docker_api)
    # A mirror that refuses connections: apt-get inside the build reaches no archive.
    write_config(user_config_home, '[recipes.base]\nmirror = "http://127.0.0.1:9/debian"\n')
    out = berth("template", "build", "claude", "--tag", tag, "--base", "berth.local/base:bookworm",
                "--host-certificates")
    assert out.returncode == 5, out.stderr
    assert "failed at step" in out.stderr and "installing OS packages with apt-get" in out.stderr
    assert "127.0.0.1:9" in out.stderr and "Nothing was tagged." in out.stderr
    assert "Traceback" not in out.stderr
    assert not has_image(docker_api, tag)
    assert containers(docker_api) <= before

    # With no base on the engine for that mirror, the base itself cannot be made: said so.
    made = berth("template", "build", "claude", "--tag", tag, "--host-certificates")
    assert made.returncode == 5
    assert "making the base from the OS archive (debootstrap bookworm) failed" in made.stderr
    assert not has_image(docker_api, tag)


def test_an_agent_package_that_does_not_exist_is_named_and_tags_nothing(docker_api,
                                                                       user_config_home):
    tag = unique_tag("nosuch")
    write_config(user_config_home, '[recipes.nosuch]\nbinary = "nosuch"\n'
                                   'npm = "@berth-test/no-such-agent-4f1c"\n')
    out = berth("template", "build", "nosuch", "--tag", tag)
    assert out.returncode == 5
    assert out.stderr.strip().splitlines()[-1] == (
        "berth: error: resolving versions from the npm registry: the npm registry "
        "https://registry.npmjs.org/ has no package or version "
        "@berth-test/no-such-agent-4f1c@latest.")
    old = berth("template", "build", "claude@0.0.0-no-such", "--tag", tag)
    assert old.returncode == 5 and "@anthropic-ai/claude-code@0.0.0-no-such" in old.stderr
    assert not has_image(docker_api, tag)

    unknown = berth("template", "build", "aider")
    assert unknown.returncode == 2
    assert "Berth has no recipe for the agent 'aider'" in unknown.stderr
    with pytest.raises(BadInput, match="not an image tag"):
        Engine().build_template(["claude"], tag="Not A Tag")


def test_an_agent_that_does_not_run_tags_nothing(cold, docker_api, user_config_home):
    # Debian's sh (dash) refuses --version: the check after the build must catch a program that
    # is there but does not run.
    write_config(user_config_home, '[recipes.broken]\nbinary = "sh"\n')
    tag = unique_tag("broken")
    out = berth("template", "build", "broken", "--tag", tag, "--host-certificates")
    assert out.returncode == 5
    assert "failed at checking that each agent runs (--version, offline)" in out.stderr
    assert "sh --version failed:" in out.stderr and "Nothing was tagged." in out.stderr
    assert not has_image(docker_api, tag)


def test_a_cancelled_build_stops_and_tags_nothing(cold, docker_api):
    tag = unique_tag("cancel")
    before = containers(docker_api)
    cancel = Cancel()
    failure: list[BaseException] = []
    installing = threading.Event()

    def progress(_phase: str, message: str) -> None:
        # npm prints nothing for a long while: the cancel must not wait for its next line.
        if "installing the agents" in message:
            installing.set()

    def work() -> None:
        try:
            Engine().build_template(["claude"], tag=tag, host_certificates=True, no_cache=True,
                                    progress=progress, cancel=cancel)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            failure.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    assert installing.wait(600), "the build never reached its npm step"
    cancelled_at, since = time.monotonic(), int(time.time())
    cancel.set()
    assert time.monotonic() - cancelled_at < 1, "the cancel waited for the build to speak"
    thread.join(120)
    assert not thread.is_alive()
    [exc] = failure
    assert isinstance(exc, TemplateProblem) and exc.data.get("cancelled") is True
    assert "cancelled; nothing was tagged" in exc.message
    assert not has_image(docker_api, tag)
    # The engine ends the build and removes its step's container (forcerm).
    assert engine_cleaned_up(docker_api, before, since)


# -- `berth run` with no template to be had --------------------------------------------------------

AGENT = "berthtestbox"


def box_config(home: Path) -> None:
    """An agent of the user's own whose default template no registry has, with a recipe: its
    program is bash, from the base."""
    write_config(home, f'[agents.{AGENT}]\nbinary = "bash"\ntemplate = "berth-test/no-such:1"\n'
                       f'[recipes.{AGENT}]\nbinary = "bash"\n')


@pytest.fixture
def box_tag(docker_api):
    tag = plan.default_tag([AGENT])
    yield tag
    if has_image(docker_api, tag):
        docker_api.remove_image(tag, force=True)


def test_run_without_a_terminal_says_how_to_build(make_workspace, user_config_home, box_tag):
    box_config(user_config_home)
    workspace = make_workspace()
    out = berth("run", "-d", AGENT, cwd=workspace)
    assert out.returncode == 5
    assert "'berth-test/no-such:1' is not on this engine and could not be pulled" in out.stderr
    assert f"with no container registry: berth template build {AGENT}" in out.stderr
    assert berth("ls", "-q", "-w", workspace).stdout == ""


def test_run_on_a_terminal_offers_the_build_then_runs_the_agent(make_workspace, user_config_home,
                                                                 box_tag, cold):
    box_config(user_config_home)
    workspace = make_workspace()
    term = Terminal([*BERTH, "run", "--network-policy", "open", AGENT], cwd=workspace,
                    env={"XDG_CONFIG_HOME": str(user_config_home)})
    try:
        term.expect("Build it now? [Y/n]", 120)
        assert "Node, npm and the agents from https://registry.npmjs.org/" in term.text
        # This machine's own CAs, if it has any, are named before the user accepts them.
        for path in host_trust.extra_certificates():
            assert path in term.text
        term.send("\r")
        term.expect(f"{box_tag} is built", 600)
        term.expect("agent@", 120)  # bash in the sandbox, as the template's user
        term.send("echo made-$((6*7))\r")
        term.expect("made-42", 30)
        term.send("exit\r")
        assert term.wait(60) == 0
    finally:
        term.close()
    listed = json.loads(berth("inspect", "-w", workspace).stdout)[0]
    assert listed["template"] == box_tag and listed["builtTemplate"]["agents"] == [AGENT]


def test_template_source_berth_uses_berths_own_or_offers_it(make_workspace, user_config_home,
                                                            cold):
    built, _ = cold
    workspace = make_workspace()
    write_config(user_config_home, '[defaults]\ntemplateSource = "berth"\n')
    out = berth("run", "-d", "--network-policy", "open", "gemini", cwd=workspace)
    assert out.returncode == 5
    assert "Berth has built no template for gemini on this engine" in out.stderr
    assert "berth template build gemini" in out.stderr
    made = berth("run", "-d", "--network-policy", "open", "codex", cwd=workspace)
    assert made.returncode == 0, made.stderr
    details = json.loads(berth("inspect", "-w", workspace).stdout)[0]
    assert details["template"].startswith("berth.local/template:")
    assert "codex" in details["builtTemplate"]["agents"]


def test_docker_templates_first_then_berths_own_but_never_over_the_users(make_workspace,
                                                                         user_config_home, cold,
                                                                         docker_api):
    built, _ = cold
    # Docker's codex template cannot be pulled here: a template Berth built holding codex is used.
    workspace = make_workspace()
    made = berth("run", "-d", "--network-policy", "open", "codex", cwd=workspace)
    assert made.returncode == 0, made.stderr
    assert "docker/sandbox-templates:codex cannot be pulled: using berth.local/template:" in \
        made.stderr
    details = json.loads(berth("inspect", "-w", workspace).stdout)[0]
    assert "codex" in details["builtTemplate"]["agents"]

    # An image derived from it (FROM it: every label inherited) under the user's own tag is no
    # template of Berth's.
    docker_api.tag(built.tag, "berth-test/derived", "1")
    try:
        listed = [t["tag"] for t in json.loads(berth("template", "ls", "--json").stdout)]
        assert built.tag in listed and "berth-test/derived:1" not in listed
    finally:
        docker_api.remove_image("berth-test/derived:1")

    # A template the user set for the agent is theirs: never replaced by Berth's.
    write_config(user_config_home, '[agents.codex]\ntemplate = "berth-test/no-such-codex:1"\n')
    other = make_workspace()
    refused = berth("run", "-d", "--network-policy", "open", "codex", cwd=other)
    assert refused.returncode == 5
    assert "'berth-test/no-such-codex:1' is not on this engine and could not be pulled" in \
        refused.stderr
    assert "berth template build" not in refused.stderr
