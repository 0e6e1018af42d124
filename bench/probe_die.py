#!/usr/bin/env python3
"""Why a killed sandbox stays `running` in Berth: the engine's list lags its own `die` event.

    python bench/probe_die.py

Kills a throwaway container (labelled dev.berth.bench=1, removed at the end) a few times and, the
moment the `die` event arrives, polls the container list (what Berth's status refresh reads) until it
stops saying `running`; then does the same with one `inspect`, which waits for the engine to finish
recording the exit.
"""

from __future__ import annotations

from environment import BENCH_LABEL, IMAGE  # first: re-runs this script in the project's .venv if needed

# isort: split
import sys
import threading
import time

import docker
from berth.container_setup import IDLE_ENTRYPOINT
from propagation import subscribe


def main() -> int:
    api, other = docker.APIClient(version="auto"), docker.APIClient(version="auto")
    cid = api.create_container(IMAGE, entrypoint=IDLE_ENTRYPOINT, user="0",
                               labels={BENCH_LABEL: "1"})["Id"]
    try:
        for _ in range(5):
            for how in ("list", "inspect"):
                api.start(cid)
                time.sleep(0.2)
                # Bounded: no `die` within propagation.READ_TIMEOUT raises instead of waiting forever.
                stream = subscribe(api, {"type": ["container"], "id": [cid]})
                # From another thread, as an outside `docker kill` would: the kill call itself only
                # returns once the engine has recorded the exit.
                threading.Thread(target=api.kill, args=(cid,)).start()
                for event in stream:
                    if event.get("Action") != "die":
                        continue
                    t0 = time.perf_counter()
                    if how == "list":
                        polls = 0
                        while other.containers(all=True, filters={"id": [cid]})[0]["State"] == "running":
                            polls += 1
                        print(f"list said `running` {polls} times, for "
                              f"{(time.perf_counter() - t0) * 1000:.0f} ms after `die`")
                    else:
                        state = other.inspect_container(cid)["State"]["Status"]
                        listed = other.containers(all=True, filters={"id": [cid]})[0]["State"]
                        print(f"inspect answered `{state}` after "
                              f"{(time.perf_counter() - t0) * 1000:.0f} ms; the list then said "
                              f"`{listed}`")
                    break
                stream.close()
    finally:
        api.remove_container(cid, force=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
