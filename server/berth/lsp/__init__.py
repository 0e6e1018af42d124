"""berth-server: the sandbox engine behind a JSON-RPC (LSP base protocol) interface on stdio."""
