"""Memory: a server's resident set read from /proc, and the rows that judge it.

Read at two points of other phases, so that the figures are the servers' in use: each server of the
cold-start rounds 0.3 s after its first status (against the bare pygls server), and the long-lived
server after each list at the largest size.
"""

from __future__ import annotations

from report import Row, median_at_most

LIMIT_MIB = 120


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB, from /proc/PID/status."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                values[name] = int(value.split()[0])
    return values["VmRSS"], values["VmHWM"]


def rss_mib(pid: int) -> float:
    return rss_kib(pid)[0] / 1024


def peak_mib(pid: int) -> float:
    return rss_kib(pid)[1] / 1024


def idle_row(rss: list[float], bare: list[float]) -> Row:
    return Row("RSS idle (after first status)", rss, "bare pygls server", bare, "(none)", unit="MiB")


def loaded_row(count: int, rss: list[float], bare: list[float], peak: float) -> Row:
    return Row(f"RSS with {count} sandboxes (after lists)", rss, "bare pygls server", bare,
               f"<= {LIMIT_MIB} MiB", median_at_most(rss, LIMIT_MIB), unit="MiB",
               note=f"peak VmHWM {peak:.1f} MiB")
