"""Plain-text output for the CLI."""

from __future__ import annotations


def table(rows: list[tuple[str, ...]]) -> None:
    """Print rows as left-aligned columns, the first row being the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
