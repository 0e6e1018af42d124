"""The figures and their judgement: a row (samples beside their floor, a target), the table, the
machine header, and the report printed and written to bench/results/."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
from dataclasses import dataclass, field
from typing import Any

from environment import RESULTS


@dataclass
class Row:
    name: str
    samples: list[float]
    floor_name: str = ""
    floor: list[float] = field(default_factory=list)
    target: str = ""
    passed: bool | None = None
    unit: str = "ms"
    note: str = ""
    missing: int = 0  # repetitions that never produced the figure (e.g. a notification lost)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def floor_median(self) -> float | None:
        return statistics.median(self.floor) if self.floor else None

    @property
    def ratio(self) -> float | None:
        f, m = self.floor_median, self.median
        return m / f if f and m is not None else None

    def verdict(self) -> str:
        return "-" if self.passed is None else ("PASS" if self.passed else "MISS")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "unit": self.unit, "n": len(self.samples),
            "missing": self.missing, "min": min(self.samples, default=None),
            "median": self.median, "max": max(self.samples, default=None),
            "samples": self.samples, "floor_name": self.floor_name or None,
            "floor_median": self.floor_median, "floor_samples": self.floor or None,
            "ratio": self.ratio, "target": self.target or None, "passed": self.passed,
            "note": self.note or None,
        }


# The two kinds of target: medians decide.

def median_at_most(samples: list[float], limit: float) -> bool:
    return statistics.median(samples) <= limit


def ratio_at_most(samples: list[float], floor: list[float], limit: float) -> bool:
    return statistics.median(samples) <= limit * statistics.median(floor)


def fmt(value: float | None, unit: str = "ms") -> str:
    if value is None:
        return "-"
    if unit == "MiB":
        return f"{value:.1f}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def table(rows: list[Row], markdown: bool = False) -> str:
    head = ["figure", "unit", "n", "min", "median", "max", "floor", "floor median", "ratio",
            "target", "result"]
    lines = [[r.name, r.unit, f"{len(r.samples)}" + (f"+{r.missing} lost" if r.missing else ""),
              fmt(min(r.samples, default=None), r.unit), fmt(r.median, r.unit),
              fmt(max(r.samples, default=None), r.unit), r.floor_name or "-", fmt(r.floor_median, r.unit),
              f"{r.ratio:.2f}x" if r.ratio is not None else "-", r.target or "-", r.verdict()]
             for r in rows]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]
    right = {1, 2, 3, 4, 5, 7, 8}

    def render(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([render(head), render(["-" * w for w in widths]), *map(render, lines)])


def machine(api: Any) -> dict[str, Any]:
    """What the figures were taken on: date, CPU, kernel, OS and the versions that matter."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    from importlib.metadata import version

    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model or platform.processor() or "?",
        "kernel": platform.release(),
        "os": _os_name(),
        "docker": api.version().get("Version", "?"),
        "python": platform.python_version(),
        "pygls": version("pygls"),
        "docker-py": version("docker"),
    }


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def report(rows: list[Row], info: dict[str, Any], seconds: float, *, quick: bool,
           extra: dict[str, Any], server_path: str | None) -> None:
    """Print the table, its notes and the verdict; write latest.json (every sample) and latest.md."""
    prototype = f" [server from {server_path}]" if server_path else ""
    header = (f"Berth bench{prototype}, {info['date']}: {info['nproc']} cores ({info['cpu']}), "
              f"kernel {info['kernel']}, {info['os']}, Docker {info['docker']}, "
              f"Python {info['python']}, pygls {info['pygls']}, docker-py {info['docker-py']}")
    print()
    print(header)
    print(table(rows))
    for note in (f"{r.name.strip()}: {r.note}" for r in rows if r.note):
        print(f"  note: {note}")
    print(f"total {seconds:.0f} s")
    misses = [r.name.strip() for r in rows if r.passed is False]
    print("targets: " + ("all pass" if not misses else "MISS: " + "; ".join(misses)))
    data = {"machine": info, "seconds": round(seconds, 1), "quick": quick,
            "rows": [r.to_json() for r in rows], "extra": extra}
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(f"{header}\n\n{table(rows, markdown=True)}\n")
    print(f"wrote {RESULTS / 'latest.json'} and latest.md")
