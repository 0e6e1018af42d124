"""A template Berth built, as its labels describe it (read defensively: labels are any image's)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from berth.builds import plan


@dataclass(frozen=True)
class BuiltTemplate:
    tag: str
    id: str
    agents: tuple[str, ...]
    versions: dict[str, str] = field(default_factory=dict)
    pins: dict[str, str] = field(default_factory=dict)
    base: str = ""
    base_source: str = ""
    built: str = ""
    size: int = 0
    key: str = ""
    host_certificates: bool = False
    # The engine's creation time (seconds): which is newest, whatever the labels say.
    created: float = 0.0
    # Set by a build: nothing had changed, so nothing was built.
    up_to_date: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"tag": self.tag, "id": self.id[:19], "agents": list(self.agents),
                "versions": dict(self.versions), "pins": dict(self.pins), "base": self.base,
                "baseSource": self.base_source, "built": self.built, "size": self.size,
                "hostCertificates": self.host_certificates, "upToDate": self.up_to_date}

    def describe(self) -> str:
        """`claude 2.1.332, codex 0.171.0 (Node 24.21.0) on debian:bookworm-slim, built ...`"""
        # An agent from no registry (the shell) has no version.
        held = ", ".join(f"{a} {self.versions[a]}" if a in self.versions else a
                         for a in self.agents)
        node = f" (Node {self.versions['node']})" if "node" in self.versions else ""
        return f"{held or 'no agent'}{node} on {self.base or '?'}, built {self.built or '?'}"


def from_labels(tag: str, image_id: str, labels: dict[str, str] | None, size: int = 0,
                created: float = 0.0) -> BuiltTemplate | None:
    """The template these labels describe under `tag`, or None when they are not the labels of a
    template Berth built with that tag (an image built FROM one carries them too, under its own)."""
    labels = labels or {}
    agents = labels.get(plan.AGENTS)
    if not isinstance(agents, str) or not agents or labels.get(plan.TAG) != tag:
        return None
    return BuiltTemplate(tag=tag, id=image_id, agents=tuple(a for a in agents.split(",") if a),
                         versions=_mapping(labels.get(plan.VERSIONS)),
                         pins=_mapping(labels.get(plan.PINS)),
                         base=str(labels.get(plan.BASE, ""))[:200],
                         base_source=str(labels.get(plan.BASE_SOURCE, ""))[:40],
                         built=str(labels.get(plan.BUILT, ""))[:40], size=size,
                         key=str(labels.get(plan.KEY, ""))[:64],
                         host_certificates=labels.get(plan.HOST_CERTIFICATES) == "true",
                         created=created)


def _mapping(text: str | None) -> dict[str, str]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k)[:40]: str(v)[:64] for k, v in data.items() if isinstance(v, (str, int))}
