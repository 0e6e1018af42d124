"""Workspace keys: paths and file: URIs to the real path that identifies a sandbox."""

from __future__ import annotations

import os

import pytest
from berth.errors import BadInput
from berth.workspace import default_sandbox_name, resolve_workspace, workspace_key


def test_symlinks_resolve_to_one_key(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert resolve_workspace(str(link)) == resolve_workspace(str(real)) == os.path.realpath(real)


def test_file_uri_with_spaces_and_non_ascii(tmp_path):
    folder = tmp_path / "my wörk späce"
    folder.mkdir()
    uri = "file://" + str(folder).replace(" ", "%20").replace("ö", "%C3%B6").replace("ä", "%C3%A4")
    assert resolve_workspace(uri) == os.path.realpath(folder)


@pytest.mark.parametrize("value, expected", [
    ("relative/dir", "absolute path"),
    ("", "absolute path or file: URI"),
    (42, "absolute path or file: URI"),
    ("/no/such/folder/anywhere", "does not exist"),
    ("https://example.com/x", "local folder"),
    ("/tmp/a\x00b", "NUL"),
])
def test_bad_workspaces(value, expected):
    with pytest.raises(BadInput, match=expected):
        resolve_workspace(value)


def test_names_are_valid_container_names_and_differ_per_path():
    a = default_sandbox_name("claude", "/home/u/my project (1)")
    b = default_sandbox_name("claude", "/home/v/my project (1)")
    assert a != b
    assert a.startswith("berth-claude-my-project-1-")
    assert workspace_key("/a") != workspace_key("/b")


def test_a_lone_surrogate_is_bad_input_not_a_crash():
    # Found by the fuzzer: '\ud800' stands for no byte, so no path can hold it.
    with pytest.raises(BadInput, match="cannot name a file"):
        resolve_workspace("/\ud800")
