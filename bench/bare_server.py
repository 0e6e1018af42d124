"""The floor for berth-server: a pygls language server that does nothing.

It answers `initialize` (pygls does that itself), `shutdown` and `exit`, plus one custom request,
`bench/echo`, that returns an empty list: the round trip of the bench's client, the pipes and pygls'
dispatch with no work behind it. Same interpreter, same pygls and lsprotocol as berth-server.
"""

from __future__ import annotations

from pygls.lsp.server import LanguageServer

server = LanguageServer("bench-bare-server", "0")


@server.feature("bench/echo")
async def echo(ls: LanguageServer, params: object) -> list[object]:
    return []


if __name__ == "__main__":
    server.start_io()
