"""Request params as plain JSON values.

pygls turns params of methods it does not know into namedtuples, renaming keys that are not Python
identifiers; Berth keeps them as the client sent them instead (see app._converter), and `plain`
undoes namedtuples wherever they still appear (configuration results, command arguments).
"""

from __future__ import annotations

from typing import Any


def plain(value: Any) -> Any:
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
