"""The server's folder and status logic in process, without a client or an engine: where each setting
comes from, and which statuses are sent."""

from __future__ import annotations

import asyncio

from berth.config import ConfigRequest, SandboxConfig
from berth.lsp.folders import Folders
from berth.lsp.status import StatusPublisher
from berth.lsp.tasks import Background
from berth.models import Sandbox, Status


def test_a_folders_answer_replaces_the_initialization_options(tmp_path):
    folders = Folders()
    folders.set_global({"template": "init:1", "mountDockerSocket": True})
    folder = folders.add(str(tmp_path))
    assert folder.settings.fields == {"template": "init:1", "mountDockerSocket": True}
    folders.apply(folder, {"template": "mine:1", "mountDockerSocket": None})
    assert folder.settings.fields == {"template": "mine:1"}
    folders.apply(folder, None)  # a client with nothing for the folder: the options again
    assert folder.settings.fields == {"template": "init:1", "mountDockerSocket": True}


def test_workspace_values_are_kept_apart_from_the_users_own(tmp_path):
    folders = Folders()
    folder = folders.add(str(tmp_path))
    folders.apply(folder, {"template": "mine:1", "workspaceValues": {"template": "theirs:1",
                                                                     "autoStart": "always"}})
    assert folder.settings.fields["template"] == "theirs:1"
    assert folder.auto_start == "always"
    assert folder.trusted.fields == {"template": "mine:1"}
    [item] = folders.consent_items(folder.path, ConfigRequest())
    assert (item.field, item.value) == ("template", "theirs:1")
    # A workspace that is not an open folder gets the user's own settings only.
    folders.set_global({"template": "mine:1", "workspaceValues": {"template": "theirs:1"}})
    assert folders.settings_for("/elsewhere").fields == {"template": "mine:1"}


class _Folders(list):
    def get(self, path):
        return None


def _publisher(sent: list) -> StatusPublisher:
    return StatusPublisher(lambda method, data: sent.append(data), _Folders(), engine=None,
                           workers=None, background=Background())


def test_a_status_is_sent_once_and_died_only_flips_the_running_one():
    async def scenario() -> list:
        sent: list = []
        publisher = _publisher(sent)
        sandbox = Sandbox(id="abc123", full_id="abc123" + "0" * 58, name="berth-x", workspace="/w",
                          agent="claude", template="t:1", status="running", created_at="",
                          user="agent", config=SandboxConfig())
        publisher.publish(Status("/w", "running", sandbox))
        publisher.publish(Status("/w", "running", sandbox))  # identical: not sent again
        publisher.died("/w", None, "ffff")  # another container: nothing
        publisher.died("/w", None, "abc123def")
        publisher.transient("/w", "starting", "Starting sandbox x")
        return sent

    sent = asyncio.run(scenario())
    assert [s["state"] for s in sent] == ["running", "stopped", "starting"]
    assert sent[1]["sandbox"]["status"] == "exited" and sent[1]["sandbox"]["state"] == "stopped"
    assert sent[2]["message"] == "Starting sandbox x" and sent[2]["sandbox"]["id"] == "abc123"


def test_a_deferred_auto_start_acts_on_the_first_status_known_and_never_on_a_later_one():
    # Registered while the engine was away; the sandbox then got known (a request's own result,
    # not a read): the callback belongs to that moment, not to the stop the user makes later.
    async def scenario() -> list:
        calls: list = []
        publisher = _publisher([])
        publisher.publish(Status("/w", "unavailable", None, message="Start Docker"))
        publisher.when_read("/w", lambda: calls.append(publisher.last("/w").state))
        publisher.publish(Status("/w", "unavailable", None, message="still away"))
        publisher.publish(Status("/w", "running", None))
        publisher.publish(Status("/w", "stopped", None))
        return calls

    assert asyncio.run(scenario()) == ["running"]


def test_each_sandbox_of_a_workspace_has_its_own_status_and_a_gone_named_one_is_forgotten():
    async def scenario() -> tuple[list, StatusPublisher, list]:
        sent: list = []
        calls: list = []
        publisher = _publisher(sent)
        publisher.when_read("/w", lambda: calls.append("auto-start"))

        def sandbox(name: str, labels: dict) -> Sandbox:
            return Sandbox(id=name[:12], full_id=name, name=name, workspace="/w", agent="claude",
                           template="t:1", status="running", created_at="", user="agent",
                           config=SandboxConfig(), labels=labels)

        review = sandbox("review", {"dev.berth.name": "review"})
        publisher.publish(Status("/w", "running", review, name="review"))
        assert calls == []  # a named sandbox says nothing of the folder's default one
        publisher.publish(Status("/w", "stopped", sandbox("default", {})))
        assert calls == ["auto-start"]
        publisher.died("/w", "review", "review")
        publisher.publish(Status("/w", "absent", name="review"))
        return sent, publisher, calls

    sent, publisher, _ = asyncio.run(scenario())
    assert [(s["name"], s["state"]) for s in sent] == [
        ("review", "running"), (None, "stopped"), ("review", "stopped"), ("review", "absent")]
    assert publisher.last("/w").state == "stopped"
    assert publisher.last("/w", "review") is None  # gone, and said once: forgotten
    assert [s.name for s in publisher.of_workspace("/w")] == [None]
