"""A recreate that fails leaves the sandbox the user had: same container, same name, still running.

The engine is reached through EngineProxy, which answers the new container's create (or start) with
an engine error of its own; the name clash is a real container holding the requested name.
"""

from __future__ import annotations

import uuid

import pytest
from berth.config import parse_request
from berth.engine import Engine
from berth.errors import Conflict, EngineError
from support.containers import sandboxes_of
from support.images import CLAUDE


@pytest.fixture
def stranger(docker_api):
    """A container that is not a sandbox, holding a name; only this one is removed afterwards."""
    name = f"berth-rel-stranger-{uuid.uuid4().hex[:8]}"
    created = docker_api.create_container(CLAUDE, name=name, entrypoint=["true"])
    yield name
    docker_api.remove_container(created["Id"], force=True)


@pytest.mark.parametrize("failure", ["name-taken", "create-refused", "start-refused"])
def test_a_failed_recreate_leaves_the_old_sandbox_as_it_was(workspace, proxy, stranger,
                                                            docker_api, monkeypatch, failure):
    monkeypatch.setenv("DOCKER_HOST", proxy.url)
    monkeypatch.setenv("BERTH_ENGINE_TIMEOUT", "5")
    engine = Engine()
    first = engine.run(workspace, parse_request({"template": CLAUDE, "env": ["MODE=one"]}))
    request = {"template": CLAUDE, "env": ["MODE=two"]}
    if failure == "name-taken":
        request["name"] = stranger
    else:
        proxy.fail("/containers/create" if failure == "create-refused"
                   else r"/containers/[0-9a-f]+/start")

    expected = Conflict if failure == "name-taken" else EngineError
    with pytest.raises(expected) as info:
        engine.run(workspace, parse_request(request), recreate=True)
    proxy.fail(None)
    assert (stranger if failure == "name-taken" else "refused by the test proxy") in \
        info.value.message, info.value.message

    [container] = sandboxes_of(docker_api, workspace)
    assert container["Id"] == first.sandbox.full_id
    assert container["Names"] == [f"/{first.sandbox.name}"]
    assert container["State"] == "running"
    assert engine.exec(workspace, ["sh", "-c", "echo $MODE"]).stdout == "one\n"

    # Nothing was left half-done: the same recreate, once it can succeed, gives one new sandbox.
    again = engine.run(workspace, parse_request({"template": CLAUDE, "env": ["MODE=two"]}),
                       recreate=True)
    assert again.created and again.sandbox.full_id != first.sandbox.full_id
    assert again.sandbox.name == first.sandbox.name
    assert [c["Id"] for c in sandboxes_of(docker_api, workspace)] == [again.sandbox.full_id]
    assert engine.exec(workspace, ["sh", "-c", "echo $MODE"]).stdout == "two\n"
