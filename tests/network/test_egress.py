"""Egress policies against the real engine, from inside sandboxes of the real agent template, through
the `berth` CLI as a user would: what the agent (and root, through sudo) can reach, the log of what
was blocked, rules changed live, and what stays and goes with the sandbox.

The hosts are the real ones this machine reaches (Debian's archive, npm, PyPI); a git server on the
engine's bridge (an ordinary container, not Berth's) stands for any other host.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import uuid

import docker
import pytest
from support.cli import berth, fetch, sh
from support.containers import egress_of, egress_tokens, sandboxes_of
from support.images import REAL

DEBIAN = "https://deb.debian.org/debian/"
CA = "/etc/ssl/certs/ca-certificates.crt"


def created(workspace: str, *flags: str) -> str:
    out = berth("run", "-d", "-q", "-t", REAL, *flags, "claude", cwd=workspace)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def policy(workspace: str) -> dict:
    out = berth("policy", "show", "--json", cwd=workspace)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def git_server(docker_api, real_template):
    """A git repository served over plain HTTP on port 8000 by a container on the engine's bridge:
    a host outside the sandbox that no preset allows. Yields its address."""
    name = f"berth-test-git-{uuid.uuid4().hex[:6]}"
    script = " && ".join([
        "set -e; mkdir -p /tmp/srv", "cd /tmp/srv", "git init -q --bare --initial-branch=main repo.git",
        "git init -q /tmp/w", "cd /tmp/w",
        "git -c user.name=t -c user.email=t@t commit -q --allow-empty -m hello",
        "git push -q /tmp/srv/repo.git HEAD:refs/heads/main", "cd /tmp/srv/repo.git",
        "git update-server-info", "cd /tmp/srv", "exec python3 -m http.server 8000"])
    container = docker_api.create_container(REAL, ["sh", "-c", script], name=name, user="agent",
                                            detach=True)["Id"]
    docker_api.start(container)
    try:
        address = docker_api.inspect_container(container)["NetworkSettings"]["IPAddress"]
        probe = ("for i in $(seq 100); do curl -sf -o /dev/null "
                 f"http://{address}:8000/repo.git/HEAD && exit 0; sleep 0.1; done; exit 1")
        ready = subprocess.run(["docker", "exec", container, "sh", "-c", probe])
        assert ready.returncode == 0, "the git server did not come up"
        yield address
    finally:
        docker_api.remove_container(container, force=True)


def test_balanced_reaches_registries_blocks_the_rest_and_logs_it(make_workspace, docker_api):
    workspace = make_workspace("balanced")
    created(workspace, "--network-policy", "balanced")
    assert fetch(workspace, DEBIAN) == "200"
    assert fetch(workspace, "https://registry.npmjs.org/is-number") == "200"
    blocked = fetch(workspace, "https://example.com/")
    assert "CONNECT tunnel failed, response 403" in blocked
    log = berth("policy", "log", "--json", cwd=workspace)
    entries = [json.loads(line) for line in log.stdout.splitlines()]
    assert {"host": "example.com", "port": 443,
            "rule": "not in the balanced policy or any allow rule"} in [
        {k: e[k] for k in ("host", "port", "rule")} for e in entries]
    assert all(e["time"].startswith("20") for e in entries)
    # The tools find the proxy by themselves: npm, pip (with the machine's CA) and git.
    npm = sh(workspace, "npm view is-number version")
    assert npm.returncode == 0 and npm.stdout.strip()[0].isdigit(), npm.stderr
    pip = sh(workspace, f"PIP_CERT={CA} pip download -q --no-deps -d /tmp/p six && ls /tmp/p")
    assert pip.returncode == 0 and "six-" in pip.stdout, pip.stderr
    git = sh(workspace, "git ls-remote https://example.org/x.git")
    assert git.returncode != 0 and "403" in git.stderr, git.stderr


def test_nothing_gets_out_around_the_proxy_even_as_root(make_workspace):
    workspace = make_workspace("root")
    created(workspace, "--network-policy", "balanced")
    address = socket.gethostbyname("deb.debian.org")
    # Name resolution for outside names happens only in the proxy.
    assert sh(workspace, "getent hosts deb.debian.org").returncode != 0
    assert sh(workspace, "sudo getent hosts deb.debian.org").returncode != 0
    # Without the proxy, even by address and as root, there is no route out.
    direct = fetch(workspace, f"http://{address}/debian/", root=True, extra="--noproxy '*'")
    assert not direct.startswith("200") and "curl:" in direct, direct
    assert fetch(workspace, DEBIAN, root=True, extra="--noproxy '*'") != "200"
    # Root in the sandbox has no NET_ADMIN to change that (capability 12).
    caps = sh(workspace, "sudo grep CapEff /proc/self/status").stdout.split()[1]
    assert not int(caps, 16) & (1 << 12)
    assert sh(workspace, "sudo ip link set lo down 2>&1 || echo refused").stdout.strip()


def test_rules_change_at_once_without_recreating_and_deny_wins(make_workspace, git_server):
    workspace = make_workspace("live")
    sandbox = created(workspace, "--network-policy", "locked", "--deny-host", "security.debian.org")
    assert "403" in fetch(workspace, DEBIAN)  # locked: the agent's API only
    allowed = berth("policy", "allow", "deb.debian.org", "security.debian.org", cwd=workspace)
    assert allowed.returncode == 0, allowed.stderr
    assert "security.debian.org stays blocked: deny security.debian.org" in allowed.stdout
    assert fetch(workspace, DEBIAN) == "200"
    assert "403" in fetch(workspace, "https://security.debian.org/")  # a recorded deny wins
    # Another port needs a rule naming it; then git works against that host.
    repo = f"http://{git_server}:8000/repo.git"
    assert sh(workspace, f"git ls-remote {repo}").returncode != 0
    assert berth("policy", "allow", f"{git_server}:8000", cwd=workspace).returncode == 0
    cloned = sh(workspace, f"git clone -q {repo} /tmp/repo && git -C /tmp/repo log --format=%s")
    assert cloned.returncode == 0 and cloned.stdout.strip() == "hello", cloned.stderr
    # Deny wins over a live allow too, and reset drops what was added.
    assert berth("policy", "deny", "*.debian.org", cwd=workspace).returncode == 0
    assert "403" in fetch(workspace, DEBIAN)
    assert berth("policy", "reset", cwd=workspace).returncode == 0
    assert policy(workspace)["liveAllow"] == [] and policy(workspace)["liveDeny"] == []
    assert "403" in fetch(workspace, DEBIAN)
    assert berth("inspect", "-w", workspace, cwd=workspace).stdout.count(sandbox) == 1


def test_rules_survive_stop_and_start_and_go_with_the_sandbox(make_workspace, docker_api):
    workspace = make_workspace("keep")
    sandbox = created(workspace, "--network-policy", "locked")
    assert berth("policy", "allow", "deb.debian.org", cwd=workspace).returncode == 0
    assert berth("stop", cwd=workspace).returncode == 0
    proxies, networks = egress_of(docker_api, workspace)
    assert [p["State"] for p in proxies] == ["exited"] and len(networks) == 1
    tokens = egress_tokens(docker_api, workspace)
    assert created(workspace) == sandbox  # started again, not recreated
    assert policy(workspace)["liveAllow"] == ["deb.debian.org"]
    assert fetch(workspace, DEBIAN) == "200"
    assert berth("rm", "-w", workspace, cwd=workspace).returncode == 0
    assert sandboxes_of(docker_api, workspace) == []
    assert egress_of(docker_api, workspace, tokens) == ([], [])


def test_bad_policy_input_is_refused_and_leaves_nothing(make_workspace, docker_api):
    workspace = make_workspace("bad")
    wrong = berth("run", "-d", "-t", REAL, "--network-policy", "closed", "claude", cwd=workspace)
    assert wrong.returncode == 2 and "invalid choice: 'closed'" in wrong.stderr
    pattern = berth("run", "-d", "-t", REAL, "--network-policy", "balanced", "--allow-host",
                    "http://x.test", "claude", cwd=workspace)
    assert pattern.returncode == 2
    assert "Host pattern 'http://x.test' is not of the form HOST[:PORT]" in pattern.stderr
    no_base = berth("run", "-d", "-t", REAL, "--network-policy", "balanced", "claude",
                    cwd=workspace, env={"BERTH_PROXY_BASE": "berth-test/no-such-base:1"})
    assert no_base.returncode != 0 and "Traceback" not in no_base.stderr
    assert "BERTH_PROXY_BASE" in no_base.stderr and "berth-test/no-such-base:1" in no_base.stderr
    assert sandboxes_of(docker_api, workspace) == []
    assert egress_of(docker_api, workspace) == ([], [])
    # An open sandbox has no rules to change, and says so.
    created(workspace, "--network-policy", "open")
    open_rules = berth("policy", "allow", "x.test", cwd=workspace)
    assert open_rules.returncode != 0 and "open network policy" in open_rules.stderr
    assert "network policy open" in berth("policy", "show", cwd=workspace).stdout


def test_sandboxes_past_the_engines_address_pools_still_get_a_network(make_workspace, docker_api):
    """The engine's default pools hold about 30 networks; each filtered sandbox needs one."""
    from berth.engine import egress

    egress.remove_spares(docker_api)  # a spare's network was made while the pools had room
    fillers = []
    try:
        for _ in range(64):  # take whatever the engine's pools have left
            try:
                fillers.append(docker_api.create_network(f"berth-test-fill-{uuid.uuid4().hex[:8]}",
                                                         internal=True)["Id"])
            except docker.errors.APIError as exc:
                assert "address pool" in str(exc), exc
                break
        else:
            pytest.fail("the engine's address pools never ran out")
        workspace = make_workspace("pools")
        sandbox = created(workspace, "--network-policy", "locked")
        [network] = docker_api.inspect_container(sandbox)["NetworkSettings"]["Networks"]
        [config] = docker_api.inspect_network(network)["IPAM"]["Config"]
        assert ipaddress.IPv4Network(config["Subnet"]).subnet_of(
            ipaddress.IPv4Network("10.213.0.0/16"))
        assert sh(workspace, "true").returncode == 0
    finally:
        for network in fillers:
            docker_api.remove_network(network)


def test_a_sandbox_removed_outside_berth_leaves_no_proxy_behind(make_workspace, docker_api,
                                                                monkeypatch):
    from berth.engine import Engine, egress
    from support.engine import run

    gone = make_workspace("gone")
    sandbox = created(gone, "--network-policy", "locked")
    tokens = egress_tokens(docker_api, gone)
    docker_api.remove_container(sandbox, force=True)  # `docker rm -f`, not Berth
    assert len(egress_of(docker_api, gone, tokens)[0]) == 1
    monkeypatch.setattr(egress, "ORPHAN_AGE", 0.0)
    # The collector runs before a create that makes a network (here: no spare to take).
    egress.remove_spares(docker_api)
    run(Engine(), make_workspace("next"), template=REAL, networkPolicy="locked")
    assert egress_of(docker_api, gone, tokens) == ([], [])


RAW_REQUEST = """
import socket, sys
s = socket.create_connection(("berth-proxy", 3128), timeout=20)
s.sendall(sys.argv[1].encode().decode("unicode_escape").encode())
print(s.recv(200).split(b"\\r\\n")[0].decode())
"""


def test_odd_request_forms_do_not_slip_past_a_deny_rule(make_workspace):
    """Whatever form of request reaches the proxy (a user part, a path after the port, a leading
    zero, upper case, an empty or signed port, another scheme, origin form), a denied host under an
    allowed wildcard stays denied: the relay reads only the standard forms."""
    workspace = make_workspace("forms")
    created(workspace, "--network-policy", "locked", "--allow-host", "*.debian.org",
            "--deny-host", "security.debian.org")

    def status(request: str) -> str:
        out = berth("exec", "python3", "-c", RAW_REQUEST, request, cwd=workspace)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert status(r"CONNECT deb.debian.org:443 HTTP/1.1\r\n\r\n").split()[1] == "200"
    for request in (r"CONNECT u@security.debian.org:443 HTTP/1.1\r\n\r\n",
                    r"CONNECT security.debian.org:443/x HTTP/1.1\r\n\r\n",
                    r"CONNECT security.debian.org:0443 HTTP/1.1\r\n\r\n",
                    r"CONNECT SECURITY.debian.org:443 HTTP/1.1\r\n\r\n",
                    r"GET http://security.debian.org:/ HTTP/1.1\r\nHost: x\r\n\r\n",
                    r"GET http://security.debian.org:+80/ HTTP/1.1\r\nHost: x\r\n\r\n",
                    r"GET http://u@security.debian.org/ HTTP/1.1\r\nHost: x\r\n\r\n",
                    r"GET ftp://security.debian.org/ HTTP/1.1\r\nHost: x\r\n\r\n",
                    r"GET / HTTP/1.1\r\nHost: security.debian.org\r\n\r\n"):
        answer = status(request)
        assert answer.split()[1] in ("400", "403"), (request, answer)


def test_the_host_itself_is_out_of_reach(make_workspace, docker_api):
    """An internal network still gives the host an address unless told not to: a service the host
    runs on every interface (a local proxy, dockerd on tcp) must stay out of the sandbox's reach."""
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        workspace = make_workspace("host")
        sandbox = created(workspace, "--network-policy", "balanced")
        [network] = docker_api.inspect_container(sandbox)["NetworkSettings"]["Networks"]
        gateway = docker_api.inspect_network(network)["IPAM"]["Config"][0]["Gateway"]
        port = server.server_address[1]
        for address in (gateway, "172.17.0.1"):
            out = fetch(workspace, f"http://{address}:{port}/", root=True,
                        extra="--noproxy '*' -m 5")
            assert not out.startswith("200") and "curl:" in out, (address, out)
        # No raw packets either: the sandbox has no NET_RAW (capability 13) to craft them with.
        caps = sh(workspace, "sudo grep CapEff /proc/self/status").stdout.split()[1]
        assert not int(caps, 16) & (1 << 13)
    finally:
        server.shutdown()


@pytest.mark.parametrize(("agent", "key", "command", "api"), [
    ("claude", "ANTHROPIC_API_KEY=sk-ant-berth-test", "claude -p hi", "api.anthropic.com"),
    ("codex", "OPENAI_API_KEY=sk-berth-test", "codex exec --skip-git-repo-check hi",
     "api.openai.com"),
])
def test_the_real_agents_go_through_the_proxy(make_workspace, agent, key, command, api):
    """The agents' own binaries find the proxy by its variables: with their API denied, their first
    call to it is refused by the proxy and is in the log (nothing here reaches the real API)."""
    workspace = make_workspace(agent)
    out = berth("run", "-d", "-t", REAL, "-e", key, "--deny-host", api, agent, cwd=workspace)
    assert out.returncode == 0, out.stderr
    sh(workspace, f"timeout 20 {command} < /dev/null > /dev/null 2>&1; true")
    log = berth("policy", "log", "--json", cwd=workspace)
    blocked = [json.loads(line) for line in log.stdout.splitlines()]
    assert {"host": api, "port": 443, "rule": f"deny {api}"} in [
        {k: b[k] for k in ("host", "port", "rule")} for b in blocked], blocked


def _eventually(what: str, probe, timeout: float = 90.0):
    """What `probe` returns once it is truthy: a spare is made in the background after a create."""
    import time

    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)
    return found


def test_a_spare_network_and_proxy_serve_the_next_sandbox_with_its_own_rules(make_workspace,
                                                                              docker_api):
    """A long-lived Berth keeps one spare network and proxy (allowing nothing) ready; the next
    filtered sandbox takes them with its own rules, and removing it removes them."""
    from berth.engine import Engine, egress
    from support.engine import run

    engine = Engine(keep_spare=True)
    egress.remove_spares(docker_api)
    first = make_workspace("spare-1")
    run(engine, first, template=REAL, networkPolicy="locked", allowHosts=["deb.debian.org"])
    spare = _eventually("a spare", lambda: egress.find_spare(docker_api))
    second = make_workspace("spare-2")
    run(engine, second, template=REAL, networkPolicy="locked")
    assert egress_tokens(docker_api, second) == {spare.token}
    assert docker_api.inspect_container(spare.id)["Name"] == f"/berth-proxy-{spare.token}"
    assert "403" in fetch(second, DEBIAN)  # the first sandbox's allow rule is not the second's
    assert fetch(first, DEBIAN) == "200"
    assert berth("policy", "allow", "deb.debian.org", cwd=second).returncode == 0
    assert fetch(second, DEBIAN) == "200"
    newer = _eventually("the next spare", lambda: (s := egress.find_spare(docker_api))
                        and s.token != spare.token and s)
    assert berth("rm", "-w", second, cwd=second).returncode == 0
    assert egress_of(docker_api, second, {spare.token}) == ([], [])
    # Remove all leaves nothing of Berth's running: the spare goes too.
    engine.remove(everything=True)
    assert egress.find_spare(docker_api) is None
    assert egress_of(docker_api, "", {newer.token}) == ([], [])


def test_a_spare_another_berth_takes_first_is_left_to_it(make_workspace, docker_api, monkeypatch):
    from berth.engine import Engine, egress
    from support.engine import run

    egress.remove_spares(docker_api)
    egress.make_spare(docker_api, egress.ensure_image(docker_api, lambda *_: None))
    spare = egress.find_spare(docker_api)
    assert spare is not None
    # Another Berth claims it between this one's look and its claim.
    docker_api.rename(spare.id, f"berth-proxy-{spare.token}")
    monkeypatch.setattr(egress, "find_spare", lambda api: spare)
    try:
        workspace = make_workspace("spare-race")
        run(Engine(), workspace, template=REAL, networkPolicy="locked")
        [token] = egress_tokens(docker_api, workspace)
        assert token != spare.token
        assert len(sandboxes_of(docker_api, workspace)) == 1
        assert docker_api.inspect_container(spare.id)["State"]["Running"]  # the other's, untouched
        assert sh(workspace, "true").returncode == 0
    finally:
        egress.teardown(docker_api, spare.token)


def test_a_proxy_of_another_berth_is_replaced_on_start_with_its_rules(make_workspace, docker_api):
    """A sandbox made by another Berth version runs, after its next start, behind this Berth's
    relay, with the rules it had."""
    from berth.engine import egress
    from berth.network.rules import Policy, parse_patterns

    workspace = make_workspace("upgrade")
    created(workspace, "--network-policy", "locked")
    [token] = egress_tokens(docker_api, workspace)
    [old] = egress_of(docker_api, workspace)[0]
    current = old["Image"]
    # What an older Berth left: a proxy from another image, with a rule added live.
    docker_api.tag(current, "berth-egress-proxy", "test-older")
    try:
        assert berth("stop", cwd=workspace).returncode == 0
        docker_api.remove_container(old["Id"], force=True)
        kept = Policy("locked", "claude", live_allow=parse_patterns(["deb.debian.org"], "allow"))
        egress.make_proxy(docker_api, "berth-egress-proxy:test-older", token, workspace, kept)
        assert egress_of(docker_api, workspace)[0][0]["Image"] == "berth-egress-proxy:test-older"
        created(workspace)
        [proxy] = egress_of(docker_api, workspace)[0]
        assert proxy["Image"] == current and proxy["State"] == "running"
        assert policy(workspace)["liveAllow"] == ["deb.debian.org"]
        assert fetch(workspace, DEBIAN) == "200"
    finally:
        docker_api.remove_image("berth-egress-proxy:test-older")


def test_a_claimed_network_is_its_sandboxs_alone(make_workspace, docker_api):
    """A Berth that died between creating a sandbox on the spare's network and claiming the spare
    left that sandbox there: whoever claims the spare removes it."""
    from berth.engine import Engine, egress
    from support.engine import run

    egress.remove_spares(docker_api)
    egress.make_spare(docker_api, egress.ensure_image(docker_api, lambda *_: None))
    spare = egress.find_spare(docker_api)
    assert spare is not None
    left = make_workspace("spare-left")
    stale = docker_api.create_container(
        REAL, ["sleep", "600"], detach=True,
        labels={"dev.berth.sandbox": "true", "dev.berth.workspace": left,
                "dev.berth.egress": spare.token},
        host_config=docker_api.create_host_config(network_mode=egress.names(spare.token)[1]))["Id"]
    workspace = make_workspace("spare-claimer")
    run(Engine(), workspace, template=REAL, networkPolicy="locked")
    assert egress_tokens(docker_api, workspace) == {spare.token}
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(stale)


def test_rules_too_large_for_the_environment_reach_the_proxy_as_a_file(make_workspace, docker_api):
    """A variable holds at most 128 KiB: a policy of hundreds of long host names goes in as a file."""
    from berth.engine import egress

    egress.remove_spares(docker_api)  # the proxy is made for this sandbox, with its rules
    workspace = make_workspace("many-rules")
    label = "a" * 60
    many = [f"{label}.{label}.{label}.{label}.h{i}.test" for i in range(600)]  # ~150 KB of rules
    flags = [f for i, host in enumerate(many)
             for f in ("--allow-host" if i % 2 else "--deny-host", host)]
    created(workspace, "--network-policy", "locked", "--allow-host", "deb.debian.org", *flags)
    assert len(policy(workspace)["allow"]) == 301 and len(policy(workspace)["deny"]) == 300
    assert fetch(workspace, DEBIAN) == "200"
    assert "403" in fetch(workspace, "https://security.debian.org/")


def test_a_proxy_that_never_listens_is_an_error_not_a_sandbox_cut_off(docker_api, monkeypatch):
    import io

    from berth.engine import egress
    from berth.errors import EngineError
    from berth.network.rules import Policy
    from support.images import CLAUDE

    monkeypatch.setattr(egress, "PROXY_START_WAIT", 3.0)
    # An image whose process runs but never listens: what a broken proxy image would do.
    silent = "berth-test/silent-proxy:1"
    for _ in docker_api.build(fileobj=io.BytesIO(f'FROM {CLAUDE}\nCMD ["sleep", "600"]\n'
                                                 .encode()), tag=silent, rm=True):
        pass
    token = egress.new_token()
    egress.create_network(docker_api, token, None)
    try:
        with pytest.raises(EngineError, match=r"network proxy berth-proxy-\w+ did not start"):
            egress.make_proxy(docker_api, silent, token, None, Policy("locked", "claude"))
    finally:
        egress.teardown(docker_api, token)
        docker_api.remove_image(silent)
