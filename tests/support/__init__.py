"""What the tests share: the test templates' names, the engine's view of a workspace's sandboxes, the
stdio LSP harness, the reliability tools (an engine proxy, dockerd control) and the editor drivers.

pytest puts tests/ on sys.path (pyproject.toml `pythonpath`), so test files import `support.*`.
"""
