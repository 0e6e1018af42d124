"""What the engine hands back to its front ends, with the camelCase JSON form protocol.md documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from berth import labels
from berth.builds.built import from_labels
from berth.config import SandboxConfig

# Which sandbox of a workspace: (its real path, the name it was asked for by), None for the
# workspace's default sandbox, the one a request without a name means.
Slot = tuple[str, str | None]

# Engine container states -> Berth's states (protocol.md, Status).
_ENGINE_STATE = {
    "running": "running",
    "created": "stopped",
    "exited": "stopped",
    "paused": "stopped",
    "restarting": "starting",
    "removing": "removing",
    "dead": "error",
}


@dataclass(frozen=True)
class Sandbox:
    id: str
    full_id: str
    name: str
    workspace: str
    agent: str
    template: str
    status: str  # the engine's own state: running, exited, created, ...
    created_at: str
    user: str
    config: SandboxConfig
    labels: dict[str, str] = field(default_factory=dict)
    # Stopped, after the kernel ended a process of it for want of memory during its last run (read
    # by inspect, not listed).
    oom_killed: bool = False

    @property
    def named(self) -> str | None:
        """The name it was asked for by (`--name`), or None for its workspace's default sandbox."""
        return self.labels.get(labels.NAME) or None

    @property
    def state(self) -> str:
        """Berth's state for the engine's status: running, stopped, starting, removing or error."""
        return _ENGINE_STATE.get(self.status, "error")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "workspace": self.workspace,
            "agent": self.agent,
            "template": self.template,
            "status": self.status,
            "state": self.state,
            "createdAt": self.created_at,
            "networkPolicy": self.config.network_policy,
            "named": self.named is not None,
            "ports": list(self.config.ports),
            "resources": {"cpus": self.config.cpus, "memory": self.config.memory,
                          "pidsLimit": self.config.pids_limit, "gpus": self.config.gpus},
            "oomKilled": self.oom_killed,
            "builtTemplate": self.built_template(),
        }

    def built_template(self) -> dict[str, Any] | None:
        """What the template holds, when Berth built it: its image's labels, which the engine
        copies onto the container."""
        found = from_labels(self.template, "", self.labels)
        if found is None:
            return None
        return {"agents": list(found.agents), "versions": found.versions, "base": found.base,
                "baseSource": found.base_source, "built": found.built}

    def to_json_detailed(self) -> dict[str, Any]:
        return {**self.to_json(), "config": self.config.to_json(), "labels": dict(self.labels)}


@dataclass(frozen=True)
class Status:
    workspace: str
    state: str
    sandbox: Sandbox | None = None
    drift: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    name: str | None = None  # the sandbox's name when it is not the workspace's default one

    @property
    def slot(self) -> Slot:
        return (self.workspace, self.name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "workspace": self.workspace,
            "name": self.name,
            "state": self.state,
            "sandbox": self.sandbox.to_json() if self.sandbox else None,
            "drift": self.drift,
        }
        if self.message:
            out["message"] = self.message
        return out


def out_of_memory_message(sandbox: Sandbox, *, stopped: bool) -> str:
    """What a sandbox the kernel ran out of memory for shows in its status."""
    limit = (f"its memory limit is {sandbox.config.memory}" if sandbox.config.memory
             else "it has no memory limit: the machine itself ran out")
    if stopped:
        # The engine's record (State.OOMKilled) says the kernel ended some process of the
        # container's during its last run, not that this ended the container.
        return (f"Out of memory: the kernel ended a process in the sandbox before it stopped "
                f"({limit}).")
    return (f"Out of memory: the kernel ended a process in the sandbox ({limit}); a larger "
            "'memory' takes a recreate.")


@dataclass(frozen=True)
class RunResult:
    sandbox: Sandbox
    drift: list[dict[str, Any]]
    attach: list[str]
    shell: list[str]
    created: bool
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.sandbox.to_json(),
            "drift": self.drift,
            "attach": {"argv": self.attach},
            "shell": {"argv": self.shell},
            "created": self.created,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str

    def to_json(self) -> dict[str, Any]:
        return {"exitCode": self.exit_code, "stdout": self.stdout, "stderr": self.stderr}


def iso_time(epoch: int | float | str) -> str:
    if isinstance(epoch, str):
        return epoch
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
