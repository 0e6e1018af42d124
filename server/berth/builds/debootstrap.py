"""A base image made from the OS package archive, with no container registry.

Where the engine cannot pull an official image (air-gapped networks, registry outages, networks that
mirror only package archives), debootstrap on this machine makes a minimal Debian root file system
from the archive, checking the archive's signatures with Debian's keyring, and the engine imports it
as a tar through its API (so a remote engine works too). Needs root, debootstrap and
debian-archive-keyring here, and the engine's CPU to be this machine's.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable

from berth.errors import TemplateProblem

# uname -m, and Go's names (the engine's), -> Debian's architecture names.
_DEBIAN_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
                "armv7l": "armhf", "arm": "armhf", "i686": "i386", "i386": "i386", "386": "i386",
                "ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64"}
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
_STEP_TIMEOUT = 1800


def can_run(engine_arch: str) -> str:
    """Why debootstrap cannot make the base here, or ""."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return "debootstrap runs only on Linux"
    wanted = _DEBIAN_ARCH.get(engine_arch)
    if wanted is None:
        return f"Berth does not know Debian's name for the engine's CPU ({engine_arch})"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed here (apt-get install debootstrap)"
    if not os.path.isfile(KEYRING):
        return ("Debian's archive keyring is not installed here, so the archive's signatures "
                "cannot be checked (apt-get install debian-archive-keyring)")
    if os.geteuid() != 0:
        return "debootstrap needs root"
    here = platform.machine()
    if _DEBIAN_ARCH.get(here) != wanted:
        return f"this machine's CPU ({here}) is not the engine's ({engine_arch})"
    return ""


def make_rootfs_tar(suite: str, mirror: str, engine_arch: str, step: str,
                    say: Callable[[str], None],
                    cancelled: Callable[[], bool] = lambda: False) -> tuple[str, Callable[[], None]]:
    """A tar of a minimal `suite` root file system, and a function that removes it."""
    work = tempfile.mkdtemp(prefix="berth-base.", dir="/var/tmp")

    def cleanup() -> None:
        # A debootstrap that was stopped may leave /proc or /sys mounted inside: lazily unmounted
        # first, and --one-file-system never reaches through a mount that stayed.
        for mount in _mounts_under(work):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
        subprocess.run(["rm", "-rf", "--one-file-system", work], check=False)

    try:
        rootfs = os.path.join(work, "rootfs")
        arch = _DEBIAN_ARCH[engine_arch]
        say(f"debootstrap --variant=minbase --arch={arch} {suite} {mirror}")
        _run(["debootstrap", "--variant=minbase", f"--arch={arch}", "--force-check-gpg",
              f"--keyring={KEYRING}", suite, rootfs, mirror], step,
             os.path.join(work, "debootstrap.log"), cancelled)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            folder = os.path.join(rootfs, junk)
            for name in os.listdir(folder) if os.path.isdir(folder) else ():
                path = os.path.join(folder, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    os.unlink(path)
        tar = os.path.join(work, "rootfs.tar")
        say("packing the root file system")
        _run(["tar", "-C", rootfs, "--numeric-owner", "-cf", tar, "."], step,
             os.path.join(work, "tar.log"), cancelled)
        return tar, cleanup
    except BaseException:
        cleanup()
        raise


def _mounts_under(folder: str) -> list[str]:
    try:
        with open("/proc/self/mounts") as f:
            points = [line.split()[1] for line in f if len(line.split()) > 1]
    except OSError:
        return []
    inside = [p for p in points if p.startswith(folder.rstrip("/") + "/")]
    return sorted(inside, key=len, reverse=True)  # the deepest first


def _run(argv: list[str], step: str, log: str, cancelled: Callable[[], bool]) -> None:
    """`argv` in a process group of its own, so that a cancel or the deadline ends all of it (the
    programs debootstrap runs in the new system too)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.monotonic() + _STEP_TIMEOUT
        while proc.poll() is None:
            if cancelled() or time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                if cancelled():
                    raise TemplateProblem("The build was cancelled; nothing was tagged.",
                                          cancelled=True)
                raise TemplateProblem(f"{step} took more than {_STEP_TIMEOUT} s; it was stopped.",
                                      step=step)
            time.sleep(0.2)
    if proc.returncode != 0:
        with open(log, "rb") as f:
            tail = f.read()[-2000:].decode("utf-8", "replace").strip().splitlines()[-8:]
        raise TemplateProblem(f"{step} failed ({argv[0]} exited with code {proc.returncode}):\n  "
                              + "\n  ".join(tail), step=step)
