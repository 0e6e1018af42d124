"""The `berth` command as a terminal user runs it, against the real engine."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from support.containers import sandboxes_of
from support.images import CLAUDE, GEMINI, PLAIN

BERTH = [sys.executable, "-m", "berth.cli"]


def berth(*args: str, cwd: str | None = None, input: str | None = None):
    return subprocess.run([*BERTH, *args], cwd=cwd, input=input, capture_output=True, text=True,
                          timeout=120)


def test_version_names_the_engine_and_what_it_is(docker_api):
    out = berth("version")
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and lines[0] == "berth version 0.1.0", out
    assert lines[1] == "engine: unix:///var/run/docker.sock (the default)"
    version = docker_api.version()
    assert f"Docker Engine {version['Version']} (" in lines[2] and version["Arch"] in lines[2]
    assert lines[3] == "  runs on this machine; its socket there: /var/run/docker.sock"


def test_run_detached_then_ls_inspect_stop_rm(workspace, docker_api):
    created = berth("run", "-d", "-t", CLAUDE, "-e", "K=v", claude := "claude", cwd=workspace)
    assert created.returncode == 0, created.stderr
    [container] = sandboxes_of(docker_api, workspace)
    short = container["Id"][:12]
    assert short in created.stdout and workspace in created.stdout
    assert "Creating sandbox" in created.stderr

    quiet = berth("run", "-d", "-q", claude, cwd=workspace)
    assert quiet.stdout == short + "\n" and quiet.stderr == ""

    listing = berth("ls").stdout.splitlines()
    assert listing[0].split() == ["SANDBOX", "ID", "TEMPLATE", "NAME", "WORKSPACE", "STATUS",
                                  "CREATED", "PORTS"]
    row = next(line for line in listing if line.startswith(short))
    assert CLAUDE in row and workspace in row and "running" in row
    assert short in berth("ls", "-q").stdout.split()

    details = json.loads(berth("inspect", short).stdout)
    assert details[0]["config"]["env"] == ["K"] and details[0]["workspace"] == workspace
    by_name = json.loads(berth("inspect", container["Names"][0][1:]).stdout)
    assert by_name == details

    assert berth("stop", cwd=workspace).stdout == short + "\n"
    assert docker_api.inspect_container(short)["State"]["Running"] is False
    removed = berth("rm", short)
    assert removed.returncode == 0 and removed.stdout == short + "\n"
    assert sandboxes_of(docker_api, workspace) == []


def test_stop_ids_stops_exactly_those_sandboxes(make_workspace, docker_api):
    """`berth stop ID` stops that sandbox, not whichever its workspace's lookup prefers: a crash
    or an outside `docker` command can leave a workspace two (the running, newest one wins a
    lookup by workspace)."""
    from berth.container_setup import IDLE_ENTRYPOINT

    workspace, other = make_workspace("two"), make_workspace("other")
    for folder in (workspace, other):
        assert berth("run", "-d", "-t", CLAUDE, "claude", cwd=folder).returncode == 0
    [named] = sandboxes_of(docker_api, workspace)
    [bystander] = sandboxes_of(docker_api, other)
    twin = docker_api.create_container(CLAUDE, entrypoint=IDLE_ENTRYPOINT, labels=named["Labels"],
                                       name=f"{named['Names'][0][1:]}-twin")
    docker_api.start(twin["Id"])

    def running(container_id: str) -> bool:
        return docker_api.inspect_container(container_id)["State"]["Running"]

    out = berth("stop", named["Id"][:12], cwd=other)
    assert out.returncode == 0 and out.stdout == named["Id"][:12] + "\n", out.stderr
    assert not running(named["Id"]) and running(twin["Id"]) and running(bystander["Id"])
    out = berth("stop", twin["Id"][:10], bystander["Names"][0][1:])
    assert out.stdout.split() == [twin["Id"][:12], bystander["Id"][:12]], out.stderr
    assert not running(twin["Id"]) and not running(bystander["Id"])
    both = berth("stop", "-w", workspace, named["Id"][:12])
    assert both.returncode == 2 and "one way only" in both.stderr


def test_rm_of_ls_q_removes_all_and_nothing_else(make_workspace, docker_api):
    a, b = make_workspace("a"), make_workspace("b")
    assert berth("run", "-d", "-t", CLAUDE, "claude", cwd=a).returncode == 0
    assert berth("run", "-d", "-t", GEMINI, "gemini", cwd=b).returncode == 0
    bystander = docker_api.create_container(CLAUDE, command=["true"])
    try:
        ids = berth("ls", "-q").stdout.split()
        out = subprocess.run(f"{' '.join(BERTH)} rm $({' '.join(BERTH)} ls -q)", shell=True,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert sorted(out.stdout.split()) == sorted(ids)
        assert berth("ls", "-q").stdout == ""
        assert docker_api.inspect_container(bystander["Id"])
    finally:
        docker_api.remove_container(bystander["Id"], force=True)


def test_drift_is_reported_not_applied(workspace):
    berth("run", "-d", "-t", CLAUDE, "-e", "A=1", "claude", cwd=workspace)
    again = berth("run", "-d", "-e", "A=2", "claude", cwd=workspace)
    assert again.returncode == 0
    assert "NOT applied" in again.stderr and "env: A (value changed)" in again.stderr
    assert "A=1" not in again.stderr and "A=2" not in again.stderr  # values may be secrets
    assert berth("exec", "sh", "-c", "echo $A", cwd=workspace).stdout == "1\n"
    recreated = berth("run", "-d", "--recreate", "-e", "A=2", "claude", cwd=workspace)
    assert recreated.returncode == 0 and "NOT applied" not in recreated.stderr
    assert berth("exec", "sh", "-c", "echo $A", cwd=workspace).stdout == "2\n"


def test_agent_runs_interactively_with_a_tty(workspace):
    assert berth("run", "-d", "-t", CLAUDE, "claude", cwd=workspace).returncode == 0
    pid, fd = pty.fork()
    if pid == 0:  # the child is the user's terminal session
        os.chdir(workspace)
        os.execvp(sys.executable, [*BERTH, "run", "claude", "-c", "--verbose"])
    output = b""

    def read_until(text: bytes) -> None:
        nonlocal output
        while text not in output:
            ready, _, _ = select.select([fd], [], [], 30)
            assert ready, f"timed out waiting for {text!r}; got {output!r}"
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk

    read_until(b"tty: yes")
    os.write(fd, b"hello agent\r")
    read_until(b"agent heard: hello agent")
    os.write(fd, b"exit\r")
    read_until(b"fake-agent done")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = output.decode()
    assert f"fake-agent claude as agent in {workspace}" in text
    assert "args: --dangerously-skip-permissions -c --verbose" in text


def test_agent_without_a_tty_reads_stdin(workspace):
    out = berth("run", "-t", CLAUDE, "claude", cwd=workspace, input="one\nexit\n")
    assert out.returncode == 0, out.stderr
    assert "tty: no" in out.stdout and "agent heard: one" in out.stdout


@pytest.mark.parametrize("args, status, message", [
    (["-v", "relative:/x"], 2, "Volume host path 'relative' must be absolute."),
    (["-v", "/tmp"], 2, "is not of the form HOST:CONTAINER[:ro]"),
    (["-v", "/tmp:/x:rwx"], 2, "unknown mode 'rwx'"),
    (["-e", "=oops"], 2, "empty variable name"),
    (["--credentials", "all"], 2, "Unknown credentials mode 'all'"),
    (["-t", PLAIN], 5, "The claude binary was not found in the sandbox; please check this is "
                       "the correct sandbox for this agent."),
    (["-t", "berth-test/absent:9"], 5, "berth-test/absent:9"),
    (["-p", "8080"], 2, "Port '8080' is not of the form [HOST_IP:]HOST_PORT:CONTAINER_PORT"),
    (["--pids-limit", "many"], 2, "--pids-limit 'many' is not a whole number."),
    (["-m", "1 lot"], 2, "'memory' '1 lot' is not a memory size"),
    (["--cpus", "999", "-t", CLAUDE], 2, "'cpus' 999 is more than the engine has"),
    (["--gpus", "all", "-t", CLAUDE], 2, "This Docker engine cannot give containers GPUs"),
])
def test_bad_input_is_one_clear_line_and_leaves_nothing(workspace, docker_api, args, status,
                                                         message):
    out = berth("run", "-d", *args, "claude", cwd=workspace)
    assert out.returncode == status
    assert message in out.stderr
    # Progress lines may come first; the error is the last line, and there is no traceback.
    assert "Traceback" not in out.stderr
    assert out.stderr.splitlines()[-1].startswith("berth: error: ")
    assert sandboxes_of(docker_api, workspace) == []


def test_ports_and_limits_from_the_command_line(workspace):
    created = berth("run", "-d", "-t", CLAUDE, "-p", "127.0.0.1:18931:3000", "--cpus", "0.5",
                    "-m", "300m", "--pids-limit", "200", "claude", cwd=workspace)
    assert created.returncode == 0, created.stderr
    listed = berth("ls", "-w", workspace).stdout.splitlines()
    assert listed[0].split()[-1] == "PORTS" and listed[1].endswith("127.0.0.1:18931->3000")
    [details] = json.loads(berth("inspect", "-w", workspace).stdout)
    assert {k: details["config"][k] for k in ("ports", "cpus", "memory", "pidsLimit", "gpus")} == {
        "ports": ["127.0.0.1:18931:3000"], "cpus": 0.5, "memory": "300m", "pidsLimit": 200,
        "gpus": None}
    drift = berth("run", "-d", "-m", "1g", "claude", cwd=workspace)
    assert drift.returncode == 0 and 'memory: recorded "300m", requested "1g"' in drift.stderr


def test_unknown_agent_and_missing_workspace(tmp_path):
    out = berth("run", "-d", "aider")
    assert out.returncode == 2 and "Unknown agent 'aider'" in out.stderr
    missing = berth("run", "-d", "-w", str(tmp_path / "gone"), "claude")
    assert missing.returncode == 2 and "Workspace folder does not exist" in missing.stderr
    unknown = berth("rm", "no-such-sandbox")
    assert unknown.returncode == 3 and "no-such-sandbox" in unknown.stderr


def test_gemini_runs_with_its_own_flags_not_claudes(workspace):
    berth("run", "-d", "-t", GEMINI, "gemini", cwd=workspace)
    out = berth("run", "-t", GEMINI, "gemini", "-m", "x", cwd=workspace, input="exit\n")
    assert "fake-agent gemini" in out.stdout and "args: --approval-mode=yolo -m x\n" in out.stdout


def test_same_sandbox_from_the_cli_and_the_server_labels(workspace, docker_api):
    berth("run", "-d", "-t", CLAUDE, "claude", cwd=workspace)
    [container] = sandboxes_of(docker_api, workspace)
    from berth.engine import Engine

    assert Engine().find(workspace).full_id == container["Id"]
    Path(workspace, "note.txt").write_text("x")
    assert berth("exec", "cat", "note.txt", cwd=workspace).stdout == "x"
    assert berth("logs", "--tail", "5", cwd=workspace).returncode == 0


def test_keys_from_this_machine_and_env_files_never_written_down(workspace, tmp_path):
    env_file = tmp_path / "agent.env"
    env_file.write_text("# keys for the agent\n\nFROM_FILE=file value\nBOTH=from file\n")
    out = subprocess.run([*BERTH, "run", "-d", "-t", CLAUDE, "-e", "HOST_KEY", "--env-file",
                          str(env_file), "-e", "BOTH=from flag", "claude"], cwd=workspace,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HOST_KEY": "sk-from-host"})
    assert out.returncode == 0, out.stderr
    seen = berth("exec", "sh", "-c", 'echo "$HOST_KEY|$FROM_FILE|$BOTH"', cwd=workspace)
    assert seen.stdout == "sk-from-host|file value|from flag\n"
    details = json.loads(berth("inspect", "-w", workspace).stdout)[0]
    assert sorted(details["config"]["env"]) == ["BOTH", "FROM_FILE", "HOST_KEY"]
    assert "sk-from-host" not in json.dumps(details)
    # A bad line is named by file and line, and its value is not echoed.
    env_file.write_text("A=1\nTOKEN hunter2-secret\n")
    bad = berth("run", "-d", "--env-file", str(env_file), "claude", cwd=workspace)
    assert bad.returncode == 2 and f"{env_file}', line 2" in bad.stderr
    assert "hunter2" not in bad.stderr
    unset = berth("run", "-d", "-e", "BERTH_SURELY_UNSET_VAR", "claude", cwd=workspace)
    assert unset.returncode == 2 and "'BERTH_SURELY_UNSET_VAR' is not set" in unset.stderr


def test_agents_lists_every_agent_with_where_its_login_lives(user_config_home):
    table = berth("agents")
    assert table.returncode == 0
    for name in ("claude", "codex", "gemini", "copilot", "opencode", "shell"):
        assert any(line.startswith(name + " ") for line in table.stdout.splitlines()), name
    assert "berth-claude-credentials: ~/.claude" in table.stdout
    (user_config_home / "berth").mkdir()
    (user_config_home / "berth" / "config.toml").write_text(
        '[agents.aider]\nbinary = "aider"\ntemplate = "me/aider:1"\nstate = ["~/.aider"]\n')
    agents = {a["name"]: a for a in json.loads(berth("agents", "--json").stdout)}
    assert agents["aider"]["credentialsVolume"] == "berth-aider-credentials"
    assert agents["aider"]["source"].endswith("berth/config.toml")
    (user_config_home / "berth" / "config.toml").write_text('[agents.aider]\ntemplate = "t"\nbinary = 3\n')
    bad = berth("agents")
    assert bad.returncode == 2 and "config.toml, line 3: agents.aider.binary" in bad.stderr


def test_name_makes_another_sandbox_of_the_folder_and_every_command_takes_it(workspace,
                                                                             docker_api):
    review = f"review-{os.urandom(3).hex()}"
    assert berth("run", "-d", "-t", CLAUDE, "claude", cwd=workspace).returncode == 0
    made = berth("run", "-d", "-q", "--name", review, "-t", CLAUDE, "claude", cwd=workspace)
    assert made.returncode == 0, made.stderr
    assert len(sandboxes_of(docker_api, workspace)) == 2
    mine = berth("ls", "-w", workspace).stdout
    assert review in mine and mine.count(workspace) == 2
    wrote = berth("exec", "--name", review, "sh", "-c", "echo named > /tmp/which", cwd=workspace)
    assert wrote.returncode == 0, wrote.stderr
    assert berth("exec", "--name", review, "cat", "/tmp/which", cwd=workspace).stdout == "named\n"
    assert berth("exec", "cat", "/tmp/which", cwd=workspace).returncode != 0  # the default one
    [details] = json.loads(berth("inspect", "-w", workspace, "--name", review).stdout)
    assert details["named"] is True and details["name"] == review
    assert berth("logs", "--name", review, cwd=workspace).returncode == 0
    stopped = berth("stop", "--name", review, cwd=workspace)
    assert stopped.stdout.strip() == made.stdout.strip()
    states = {c["Names"][0][1:]: c["State"] for c in sandboxes_of(docker_api, workspace)}
    assert states[review] == "exited" and list(states.values()).count("running") == 1
    missing = berth("stop", "--name", "no-such-one", cwd=workspace)
    assert missing.returncode == 3 and "no sandbox named 'no-such-one'" in missing.stderr
    bad = berth("run", "-d", "--name", "bad name", "claude", cwd=workspace)
    assert bad.returncode == 2 and "'bad name' is not a valid sandbox name" in bad.stderr
    assert berth("rm", "-w", workspace, "--name", review).returncode == 0
    [left] = sandboxes_of(docker_api, workspace)
    assert left["State"] == "running" and "dev.berth.name" not in left["Labels"]


def test_ports_lists_forwards_and_ends_a_port_of_the_running_sandbox(workspace):
    import urllib.request

    assert berth("run", "-d", "-t", CLAUDE, "claude", cwd=workspace).returncode == 0
    served = berth("exec", "sh", "-c", "mkdir -p /tmp/w && echo cli-forward > /tmp/w/i && "
                                       "httpd -p 127.0.0.1:3000 -h /tmp/w", cwd=workspace)
    assert served.returncode == 0, served.stderr
    listed = berth("ports", cwd=workspace)
    assert listed.stdout.splitlines()[1].split() == ["3000", "127.0.0.1"]
    forwarded = berth("ports", "forward", "0", cwd=workspace)
    assert forwarded.returncode == 2 and "Port '0' is not a port to forward" in forwarded.stderr
    forwarded = berth("ports", "forward", "127.0.0.1:0:3000", cwd=workspace)
    assert forwarded.returncode == 2 and "host port 0 is not from 1 to 65535" in forwarded.stderr
    forwarded = berth("ports", "forward", "3000", cwd=workspace)
    assert forwarded.returncode == 0, forwarded.stderr
    url = forwarded.stdout.split(" is at ")[1].split()[0]
    with urllib.request.urlopen(f"{url}/i", timeout=5) as answer:
        assert answer.read() == b"cli-forward\n"
    as_json = json.loads(berth("ports", "ls", "--json", cwd=workspace).stdout)
    assert [f["url"] for f in as_json["forwarded"]] == [url]
    assert f"forwarded to {url}" in berth("ports", cwd=workspace).stdout
    removed = berth("ports", "rm", "3000", cwd=workspace)
    assert removed.returncode == 0 and url in removed.stdout
    again = berth("ports", "rm", "3000", cwd=workspace)
    assert again.returncode == 3 and "has no forward of port 3000" in again.stderr
