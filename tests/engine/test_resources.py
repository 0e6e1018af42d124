"""Resource limits (`--cpus`, `--memory`, `--pids-limit`, `--gpus`) against a real engine: applied to
the container (read back from the engine), felt by what runs inside, recorded and drift-checked like
every other setting; what the engine cannot give is a clear error that leaves nothing behind."""

from __future__ import annotations

import pytest
from berth.config import DEFAULT_PIDS_LIMIT
from berth.errors import BadInput
from support.containers import egress_of, sandboxes_of
from support.engine import run

# Takes more than its sandbox's 32m, and offers itself first to the kernel's OOM killer (any process
# may raise its own score): the kernel ends it, not the sandbox's main process.
HOG = ("echo 1000 > /proc/self/oom_score_adj; "
       "head -c 200000000 /dev/zero | tail -c 100000000 >/dev/null")


def host_config(docker_api, result) -> dict:
    return docker_api.inspect_container(result.sandbox.full_id)["HostConfig"]


def test_limits_are_applied_recorded_and_shown(engine, workspace, docker_api):
    result = run(engine, workspace, cpus=1.5, memory="256m", pidsLimit=300)
    hc = host_config(docker_api, result)
    assert (hc["NanoCpus"], hc["Memory"], hc["MemorySwap"], hc["PidsLimit"]) == (
        1_500_000_000, 256 << 20, 256 << 20, 300)
    assert result.sandbox.to_json()["resources"] == {"cpus": 1.5, "memory": "256m",
                                                     "pidsLimit": 300, "gpus": None}
    [details] = engine.inspect(workspace=workspace)
    assert {k: details.to_json_detailed()["config"][k] for k in ("cpus", "memory", "pidsLimit")} == {
        "cpus": 1.5, "memory": "256m", "pidsLimit": 300}
    # The same limits spelt otherwise are no change; another is drift until recreated.
    assert run(engine, workspace, cpus="1.5", memory="0.25g").drift == []
    assert run(engine, workspace, memory="1g").drift == [
        {"field": "memory", "recorded": "256m", "requested": "1g"}]
    recreated = run(engine, workspace, memory="1g", recreate=True)
    assert host_config(docker_api, recreated)["Memory"] == 1 << 30


def test_every_sandbox_has_a_pids_limit_unless_asked_for_none(engine, make_workspace, docker_api):
    default = run(engine, make_workspace("default"))
    assert host_config(docker_api, default)["PidsLimit"] == DEFAULT_PIDS_LIMIT
    unlimited = run(engine, make_workspace("unlimited"), pidsLimit=-1)
    assert host_config(docker_api, unlimited)["PidsLimit"] in (None, 0, -1)
    assert unlimited.sandbox.config.pids_limit == -1


def test_a_fork_bomb_hits_the_pids_limit_and_the_sandbox_goes_on(engine, workspace):
    run(engine, workspace, pidsLimit=40)
    out = engine.exec(workspace, ["sh", "-c", "i=0; while [ $i -lt 100 ]; do sleep 30 & "
                                              "i=$((i+1)); done 2>&1; echo done"])
    assert "can't fork" in out.stdout + out.stderr
    engine.exec(workspace, ["sh", "-c", "pkill sleep || killall sleep"])
    assert engine.exec(workspace, ["echo", "still-here"]).stdout == "still-here\n"


def test_memory_is_felt(engine, workspace):
    run(engine, workspace, memory="32m", networkPolicy="open")
    hog = engine.exec(workspace, ["sh", "-c", HOG])
    assert hog.exit_code == 137  # ended by the kernel, swap or not
    assert engine.exec(workspace, ["echo", "ok"]).stdout == "ok\n"


@pytest.mark.parametrize("policy", ["open", "balanced"])
def test_gpus_on_an_engine_without_a_gpu_runtime_are_a_clear_error_that_leaves_nothing(
        engine, workspace, docker_api, policy):
    with pytest.raises(BadInput) as caught:
        run(engine, workspace, gpus="all", networkPolicy=policy)
    assert "This Docker engine cannot give containers GPUs (gpus 'all')" in caught.value.message
    assert sandboxes_of(docker_api, workspace) == []
    assert egress_of(docker_api, workspace) == ([], [])


def test_more_cpus_than_the_engine_has_is_a_clear_error_that_leaves_nothing(
        engine, workspace, docker_api):
    ncpu = docker_api.info()["NCPU"]
    with pytest.raises(BadInput) as caught:
        run(engine, workspace, cpus=ncpu + 1)
    assert f"'cpus' {ncpu + 1} is more than the engine has" in caught.value.message
    assert sandboxes_of(docker_api, workspace) == []
    assert egress_of(docker_api, workspace) == ([], [])
