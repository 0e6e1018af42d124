"""Which sandboxes a request means: a workspace's, some named by id or name, or every one.

The CLI, the server's requests and the engine all decide it here, with one error for each way it can
go wrong: no sandbox for the workspace, no Berth sandbox with that id or name, an ambiguous id
prefix, two ways of naming sandboxes at once (or none), several sandboxes where one is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from berth.config import parse_name
from berth.errors import BadInput, NotFound
from berth.models import Sandbox
from berth.workspace import resolve_workspace

# The ways of naming sandboxes, by the protocol's parameter names.
WORKSPACE, IDS, ALL = "workspace", "ids", "all"
NAME = "name"  # with a workspace: which of its sandboxes
_SAID = {WORKSPACE: "a workspace", IDS: "sandbox ids or names", ALL: "all"}


class Lookup(Protocol):
    """What resolving needs of the engine."""

    def find(self, workspace: str, name: str | None = None) -> Sandbox | None: ...

    def list(self) -> list[Sandbox]: ...


@dataclass(frozen=True)
class Selection:
    """Exactly one of: a workspace (its real path; with `name`, its sandbox of that name, else its
    default one), ids (ids, unique id prefixes or names; none selects nothing), or every Berth
    sandbox."""

    workspace: str | None = None
    ids: tuple[str, ...] | None = None
    everything: bool = False
    name: str | None = None

    def __post_init__(self) -> None:
        if [self.workspace is not None, self.ids is not None, self.everything].count(True) != 1:
            raise ValueError(f"A Selection names sandboxes one way, not {self!r}.")
        if self.name is not None and self.workspace is None:
            raise ValueError(f"Only a workspace's sandboxes are named: {self!r}.")

    @classmethod
    def of(cls, *, workspace: Any = None, ids: Any = None, everything: Any = None,
           name: Any = None, forms: Sequence[str] = (WORKSPACE, IDS, ALL),
           default: Callable[[], str] | None = None, single: bool = False) -> Selection:
        """A selection from what a caller gave: `workspace` a path or file: URI, `ids` a list of
        strings, `everything` a boolean, `name` the workspace's sandbox of that name; None (and
        false) is "not given". `forms` are the ways the
        caller accepts; none given means the workspace `default()` names, when there is a
        default. `single`: the caller acts on one sandbox, so `ids` must hold exactly one."""
        if everything is not None and not isinstance(everything, bool):
            raise BadInput(f"'{ALL}' must be true or false, got {everything!r:.80}.", field=ALL)
        given = [form for form, value in ((WORKSPACE, workspace), (IDS, ids), (ALL, everything))
                 if value is not None and value is not False]
        if len(given) > 1:
            raise BadInput(f"Name the sandboxes one way only: {_ways(forms)}; got "
                           f"{' and '.join(_SAID[g] for g in given)}.", field=given[-1])
        if name is not None:
            name = parse_name(name)
            if ids is not None or everything:
                raise BadInput(f"'{NAME}' names one of a workspace's sandboxes; with "
                               f"{_SAID[IDS if ids is not None else ALL]} it means nothing.",
                               field=NAME)
        if everything:
            return cls(everything=True)
        if ids is not None:
            refs = _refs(ids)
            if single and len(refs) != 1:
                raise _not_one(len(refs))
            return cls(ids=refs)
        if workspace is None:
            if default is None:
                raise BadInput(f"Say which sandboxes: {_ways(forms)}.")
            workspace = default()
        return cls(workspace=resolve_workspace(workspace), name=name)

    def sandboxes(self, lookup: Lookup) -> list[Sandbox]:
        """The sandboxes selected, each once, in the order named. Every id is checked before any
        sandbox is returned, so one bad id fails the request before anything is done."""
        if self.everything:
            return lookup.list()
        if self.ids is not None:
            return _by_refs(lookup.list() if self.ids else [], self.ids)
        sandbox = lookup.find(self.workspace, self.name)
        if sandbox is None and self.name is not None:
            raise NotFound(f"The workspace {self.workspace} has no sandbox named {self.name!r}; "
                           "run one first.", value=self.name)
        if sandbox is None:
            raise NotFound(f"The workspace {self.workspace} has no sandbox; run one first.",
                           value=self.workspace)
        return [sandbox]

    def one(self, lookup: Lookup) -> Sandbox:
        """The one sandbox selected."""
        found = self.sandboxes(lookup)
        if len(found) != 1:
            raise _not_one(len(found))
        return found[0]


def _not_one(count: int) -> BadInput:
    return BadInput(f"This acts on one sandbox; name exactly one, not {count}.", field=IDS)


def _refs(ids: Any) -> tuple[str, ...]:
    if not isinstance(ids, (list, tuple)):
        raise BadInput(f"'{IDS}' must be a list of sandbox ids or names, got {ids!r:.80}.",
                       field=IDS)
    out = []
    for ref in ids:
        if not isinstance(ref, str) or not ref.strip() or "\x00" in ref:
            raise BadInput(f"A sandbox id or name must be a non-empty string, got {ref!r:.80}.",
                           field=IDS)
        out.append(ref.strip().lstrip("/"))
    return tuple(out)


def _by_refs(everything: list[Sandbox], refs: Sequence[str]) -> list[Sandbox]:
    out: list[Sandbox] = []
    for ref in refs:
        matches = [s for s in everything if s.name == ref] or [
            s for s in everything if s.full_id.startswith(ref)]
        if not matches:
            raise NotFound(f"No Berth sandbox has the id or name {ref!r}.", value=ref)
        if len(matches) > 1:
            raise BadInput(f"Sandbox id {ref!r} is ambiguous: it matches "
                           f"{', '.join(s.id for s in matches)}.", field=IDS, value=ref)
        if matches[0] not in out:
            out.append(matches[0])
    return out


def _ways(forms: Sequence[str]) -> str:
    said = [_SAID[f] for f in forms]
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} or {said[-1]}"
