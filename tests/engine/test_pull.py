"""Templates missing locally are pulled, with progress, from a real registry on loopback.

Debian's docker-registry (the CNCF distribution registry) serves on 127.0.0.1, which the engine
trusts without TLS; a test template is pushed there and its local tag removed before each run.
"""

from __future__ import annotations

from berth.config import parse_request
from berth.engine import Engine
from support.containers import sandboxes_of


def test_missing_template_is_pulled_with_progress(workspace, remote_template, docker_api):
    seen: list[tuple[str, str]] = []
    result = Engine().run(workspace, parse_request({"template": remote_template}),
                          progress=lambda phase, message: seen.append((phase, message)))
    assert result.created and result.sandbox.template == remote_template
    assert result.sandbox.status == "running"
    phases = [phase for phase, _ in seen]
    assert phases.index("pulling") < phases.index("creating") < phases.index("starting")
    pulled = [message for phase, message in seen if phase == "pulling"]
    assert pulled[0] == f"Pulling template {remote_template}"
    assert any("Digest: sha256:" in m or "Downloaded newer image" in m for m in pulled)
    assert docker_api.inspect_image(remote_template)
    assert len(sandboxes_of(docker_api, workspace)) == 1
