"""Agent branches: three agents on three new branches of one repository, as a user starts them
(sandbox/run with `branch`, one after another), beside the floor: `git worktree add -b` and a raw
docker-py create+start on each worktree."""

from __future__ import annotations

import os
import subprocess
import time

from harness import Bench
from report import Row, median_at_most
from timing import request_ms

# The promise: three agents on three branches in under a minute, the user's clicks included.
THREE_LIMIT_S = 60.0


def _git(cwd: str, *args: str) -> None:
    subprocess.run(["git", "-c", "safe.directory=*", "-c", "user.name=b", "-c", "user.email=b@b",
                    *args], cwd=cwd, check=True, capture_output=True)


def _repository(b: Bench, name: str) -> str:
    repo = b.folder(name)
    _git(repo, "init", "-q", "--initial-branch=main")
    with open(os.path.join(repo, "README"), "w") as f:
        f.write("bench\n")
    _git(repo, "add", "README")
    _git(repo, "commit", "-q", "-m", "first")
    subprocess.run(["chown", "-R", "1000:1000", repo], check=True)  # the editor user's, as folder()
    return repo


def _raw_three(b: Bench, repo: str, round_: int) -> float:
    t0 = time.perf_counter()
    for i in range(3):
        tree = os.path.join(b.root, f"raw-trees-{round_}", f"b{i}")
        _git(repo, "worktree", "add", "-q", "-b", f"raw-{round_}-{i}", tree)
        b.docker.create_start(tree, f"berth-bench-branch-{b.run_id}-{round_}-{i}")
    return (time.perf_counter() - t0) * 1000


async def branches(b: Bench) -> None:
    b.say("three agents on three new branches (sandbox/run with branch) vs git worktree add + "
          "raw create+start")
    s = b.session
    berth, raw = [], []
    for r in range(b.reps(3, 1)):
        repo = _repository(b, f"branches-berth-{r}")
        total = 0.0
        for i in range(3):
            took, result = await request_ms(s, "sandbox/run", {
                "workspace": repo, "branch": f"agent-{i}", "networkPolicy": "open"})
            assert result["worktree"]["made"] and result["status"] == "running", result
            total += took
        berth.append(total)
        raw.append(_raw_three(b, _repository(b, f"branches-raw-{r}"), r))
        await s.quiesce(0.5)
    ok = median_at_most(berth, THREE_LIMIT_S * 1000)
    b.rows.append(Row("three agents on three branches (3 x sandbox/run branch)", berth,
                      "3 x git worktree add + raw create+start", raw, f"<= {THREE_LIMIT_S:.0f} s",
                      ok, note="issue 13: three agents on three branches in under a minute"))
    ids = [cid for cid in b.docker.ours() if cid != b.main_id]
    b.docker.remove(ids)
    await s.quiesce(0.5)
