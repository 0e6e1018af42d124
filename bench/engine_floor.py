"""The floor of the engines phase: docker-py itself, over the same transport as Berth, making the same
calls, one at a time on command, so that the bench can interleave them with Berth's requests.

    python bench/engine_floor.py BASE_URL [--ssh-client]

Reads lines from stdin: `list` (the label-filtered containers() call of sandbox/list), or
`run CONTAINER PATH PATH` (the calls sandbox/run makes on a running sandbox: that list and two HEADs
of paths in the container); answers each with the call's milliseconds. docker-py reaches an ssh://
engine through paramiko (one connection, kept), or with --ssh-client through the ssh program, a new
one for every call. TLS comes from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.

Runs in its own process, with paramiko from bench/.floor-libs: installed in the project's venv,
paramiko would be imported by every `import docker`, Berth's server's included.
"""

from __future__ import annotations

import os
import sys
import time

# The environment's CA bundle would replace the engine's CA for docker-py (requests prefers it).
for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(name, None)

import docker  # noqa: E402
from docker.utils import kwargs_from_env  # noqa: E402

FILTERS = {"label": ["dev.berth.sandbox=true"]}


def main() -> None:
    base_url = sys.argv[1]
    kwargs = {k: v for k, v in kwargs_from_env().items() if k != "base_url"}
    api = docker.APIClient(base_url=base_url, version="auto", timeout=60,
                           use_ssh_client="--ssh-client" in sys.argv, **kwargs)
    for line in sys.stdin:
        words = line.split()
        t0 = time.perf_counter()
        if words[0] == "list":
            api.containers(all=True, filters=FILTERS)
        elif words[0] == "run":
            api.containers(all=True, filters=FILTERS)
            for path in words[2:]:
                response = api.head(api._url("/containers/{0}/archive", words[1]),
                                    params={"path": path})
                api._raise_for_status(response)
        print(f"{(time.perf_counter() - t0) * 1000:.3f}", flush=True)


if __name__ == "__main__":
    main()
