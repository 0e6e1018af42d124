"""Which sandboxes a request means (berth.selection): every way of naming them, each error once."""

from __future__ import annotations

import pytest
from berth.config import SandboxConfig
from berth.engine.lookup import pick
from berth.errors import BadInput, NotFound
from berth.models import Sandbox
from berth.selection import IDS, WORKSPACE, Selection


def sandbox(full_id: str, name: str, workspace: str, status: str = "running") -> Sandbox:
    return Sandbox(id=full_id[:12], full_id=full_id, name=name, workspace=workspace,
                   agent="claude", template="t", status=status, created_at="2026-01-01T00:00:00Z",
                   user="agent", config=SandboxConfig())


class Engine:
    """find and list, as the engine answers them, over a fixed set of sandboxes."""

    def __init__(self, *sandboxes: Sandbox) -> None:
        self.sandboxes = list(sandboxes)
        self.listed = 0

    def find(self, workspace: str, name: str | None = None) -> Sandbox | None:
        return pick([s for s in self.sandboxes if s.workspace == workspace], name)

    def list(self) -> list[Sandbox]:
        self.listed += 1
        return list(self.sandboxes)


@pytest.fixture
def folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    return str(a), str(b)


@pytest.fixture
def engine(folders):
    a, b = folders
    return Engine(sandbox("aaaa11" + "0" * 58, "box-a", a), sandbox("aaaa22" + "0" * 58, "box-b", b),
                  sandbox("bbbb33" + "0" * 58, "aaaa22", b, status="exited"))


def test_a_workspace_as_path_or_uri_selects_its_sandbox(engine, folders):
    a, _ = folders
    for given in (a, f"file://{a}", a + "/"):
        assert [s.name for s in Selection.of(workspace=given).sandboxes(engine)] == ["box-a"]


def test_a_workspace_without_a_sandbox_is_not_found(tmp_path):
    with pytest.raises(NotFound, match="has no sandbox; run one first"):
        Selection.of(workspace=str(tmp_path)).sandboxes(Engine())


def test_ids_prefixes_and_names_select_exactly_those_once_in_order(engine):
    which = Selection.of(ids=["box-b", "aaaa11", "aaaa11" + "0" * 58, "/box-b"])
    assert [s.name for s in which.sandboxes(engine)] == ["box-b", "box-a"]
    # A name wins over an id prefix it also is.
    assert [s.name for s in Selection.of(ids=["aaaa22"]).sandboxes(engine)] == ["aaaa22"]


def test_an_unknown_id_fails_before_any_sandbox_is_returned(engine):
    with pytest.raises(NotFound, match="No Berth sandbox has the id or name 'nope'"):
        Selection.of(ids=["box-a", "nope"]).sandboxes(engine)


def test_an_ambiguous_prefix_is_bad_input(engine):
    with pytest.raises(BadInput, match="'aaaa' is ambiguous: it matches aaaa11000000, aaaa22000000"):
        Selection.of(ids=["aaaa"]).sandboxes(engine)


def test_no_ids_select_nothing_without_asking_the_engine():
    engine = Engine()
    assert Selection.of(ids=[]).sandboxes(engine) == [] and engine.listed == 0


def test_all_selects_every_sandbox(engine):
    assert len(Selection.of(everything=True).sandboxes(engine)) == 3


@pytest.mark.parametrize("given", [
    {"workspace": "/tmp", "ids": ["x"]},
    {"workspace": "/tmp", "everything": True},
    {"ids": [], "everything": True},
])
def test_two_ways_at_once_are_one_error(given):
    with pytest.raises(BadInput, match="Name the sandboxes one way only"):
        Selection.of(**given)


def test_nothing_given_takes_the_default_or_is_one_error(folders):
    a, _ = folders
    assert Selection.of(default=lambda: a) == Selection(workspace=a)
    assert Selection.of(everything=False, default=lambda: a) == Selection(workspace=a)
    with pytest.raises(BadInput, match="Say which sandboxes: sandbox ids or names or a workspace"):
        Selection.of(forms=(IDS, WORKSPACE))


def test_one_sandbox_where_one_is_needed(engine):
    with pytest.raises(BadInput, match="name exactly one, not 2"):
        Selection.of(ids=["box-a", "box-b"], single=True)
    assert Selection.of(ids=["box-a"], single=True).one(engine).name == "box-a"
    with pytest.raises(BadInput, match="name exactly one, not 3"):
        Selection.of(everything=True).one(engine)


@pytest.mark.parametrize("given, expected", [
    ({"ids": "box-a"}, "must be a list of sandbox ids or names"),
    ({"ids": [""]}, "non-empty string"),
    ({"ids": [3]}, "non-empty string"),
    ({"ids": ["a\x00b"]}, "non-empty string"),
    ({"everything": "yes"}, "'all' must be true or false"),
    ({"everything": 1}, "'all' must be true or false"),
    ({"workspace": "relative"}, "must be an absolute path"),
])
def test_malformed_values_are_bad_input(given, expected):
    with pytest.raises(BadInput, match=expected):
        Selection.of(**given)
