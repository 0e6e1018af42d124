"""No Berth operation deletes or rewrites the user's files, and remove-all touches only Berth's own."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from support.containers import sandboxes_of
from support.images import CLAUDE, HOST_UID
from support.reliability import (
    TEMPLATE,
    tree_hash,
)

CREDENTIALS_VOLUME = "berth-claude-credentials"


def fill(root: Path, outside: Path) -> None:
    """A realistic tree: nested, hidden, executable, read-only, empty, binary, odd names, symlinks."""
    (root / "src" / "deep" / "er").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('hello')\n")
    (root / "src" / "deep" / "er" / "data.bin").write_bytes(os.urandom(70_000))
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "locked.txt").write_text("read only")
    (root / "locked.txt").chmod(0o400)
    (root / "empty").write_bytes(b"")
    (root / "with space 'and' \"quotes\".txt").write_text("odd")
    (root / "link-out").symlink_to(outside)
    (root / "link-in").symlink_to("src/main.py")
    for path in [root, *root.rglob("*")]:
        os.lchown(path, HOST_UID, HOST_UID)


def engine_inventory(api) -> dict[str, dict]:
    return {
        "containers": {c["Id"]: (c["Names"], c["Image"]) for c in api.containers(all=True)
                       if (c["Labels"] or {}).get("dev.berth.sandbox") != "true"},
        "volumes": {v["Name"]: v["Mountpoint"] for v in api.volumes()["Volumes"] or []},
        "images": {i["Id"]: sorted(i["RepoTags"] or []) for i in api.images()},
    }


def volume_contents(api, name: str) -> dict[str, str]:
    tree = tree_hash(api.inspect_volume(name)["Mountpoint"])
    # By design, the volume's files are handed to the agent user of the sandbox that runs (agents
    # write their login readable by their own uid only), and Berth marks which sandbox has them: so
    # what is compared is every stored file's kind, mode and content, not its owner.
    tree.pop(".")
    return {rel: ":".join(meta.split(":")[:2] + meta.split(":")[4:]) for rel, meta in tree.items()
            if not rel.startswith(".berth-owner-")}


async def test_run_stop_recreate_remove_keep_every_file(sessions, make_workspace, tmp_path,
                                                       docker_api):
    outside = tmp_path / "outside.txt"
    outside.write_text("outside the workspace")
    a, b = make_workspace("a"), make_workspace("b")
    fill(Path(a), outside)
    fill(Path(b), outside)
    rw, ro = tmp_path / "cache", tmp_path / "refs"
    for d in (rw, ro):
        d.mkdir()
        fill(d, outside)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY")
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    (home / ".gitconfig").write_text("[user]\n\tname = Host\n")

    # Things that are not Berth's: a running container (one even labelled like a sandbox, without
    # the marker), a volume; and a stored login in the shared credentials volume.
    tag = uuid.uuid4().hex[:8]
    bystanders = [
        docker_api.create_container(CLAUDE, command=["sleep", "300"], name=f"bystander-{tag}"),
        docker_api.create_container(CLAUDE, command=["sleep", "300"], name=f"lookalike-{tag}",
                                    labels={"dev.berth.workspace": a}),
    ]
    docker_api.create_volume(f"bystander-{tag}")
    docker_api.create_volume(CREDENTIALS_VOLUME)
    login = Path(docker_api.inspect_volume(CREDENTIALS_VOLUME)["Mountpoint"], f"login-{tag}.json")
    try:
        for c in bystanders:
            docker_api.start(c["Id"])
        login.write_text('{"token": "keep me"}')
        before = {"a": tree_hash(a), "b": tree_hash(b), "rw": tree_hash(rw), "ro": tree_hash(ro),
                  "home": tree_hash(home), "outside": outside.read_text(),
                  "volume": volume_contents(docker_api, CREDENTIALS_VOLUME)}
        inventory = engine_inventory(docker_api)

        s = await sessions([a, b], options=TEMPLATE, env={"HOME": str(home)})
        volumes = [f"{rw}:/cache", f"{ro}:/refs:ro"]
        await s.request("sandbox/run", {"workspace": a, "volumes": volumes, "env": ["A=1"]})
        await s.request("sandbox/run", {"workspace": b, "credentials": "host"})
        await s.request("sandbox/exec", {"workspace": a, "command": ["ls", "-laR", a, "/cache"]})
        await s.request("sandbox/stop", {"workspace": a})
        await s.request("sandbox/run", {"workspace": a})
        await s.request("sandbox/recreate", {"workspace": a, "env": ["A=2"]})
        await s.request("sandbox/recreate", {"workspace": b, "credentials": "sandbox"})
        await s.request("sandbox/remove", {"workspace": a})
        await s.request("sandbox/run", {"workspace": a, "volumes": volumes})
        await s.request("sandbox/stop", {"workspace": b})
        removed = await s.request("sandbox/remove", {"all": True})
        assert len(removed["removed"]) >= 2
        assert sandboxes_of(docker_api, a) == [] and sandboxes_of(docker_api, b) == []

        after = {"a": tree_hash(a), "b": tree_hash(b), "rw": tree_hash(rw), "ro": tree_hash(ro),
                 "home": tree_hash(home), "outside": outside.read_text(),
                 "volume": volume_contents(docker_api, CREDENTIALS_VOLUME)}
        for key in before:
            assert after[key] == before[key], key
        now = engine_inventory(docker_api)
        for kind in inventory:  # everything not Berth's that was there is there, unchanged
            missing = {k: v for k, v in inventory[kind].items() if now[kind].get(k) != v}
            assert missing == {}, kind
        for c in bystanders:
            assert docker_api.inspect_container(c["Id"])["State"]["Running"]
    finally:
        for c in bystanders:
            docker_api.remove_container(c["Id"], force=True)
        docker_api.remove_volume(f"bystander-{tag}")
        login.unlink(missing_ok=True)
