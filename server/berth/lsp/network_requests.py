"""The network-policy requests: what a sandbox's network lets through, changing it live, and the log
of what it blocked (protocol.md, "Network policy")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from berth.engine.egress import policy_info
from berth.errors import BadInput
from berth.lsp.sandbox_requests import Handler, one_sandbox, only, string_list
from berth.network.rules import Policy, parse_patterns
from berth.selection import IDS, NAME, WORKSPACE

if TYPE_CHECKING:
    from berth.engine import Engine
    from berth.lsp.folders import Folders
    from berth.lsp.server import Workers


class NetworkRequests:
    def __init__(self, engine: Engine, folders: Folders, workers: Workers) -> None:
        self._engine = engine
        self._folders = folders
        self._workers = workers

    def handlers(self) -> dict[str, Handler]:
        return {
            "sandbox/policy": self.policy,
            "sandbox/changePolicy": self.change,
            "sandbox/networkLog": self.log,
        }

    async def policy(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS))
        sandbox, policy = await self._workers.engine(self._engine.policy, one_sandbox(params, self._folders))
        return policy_info(sandbox, policy)

    async def change(self, params: dict[str, Any]) -> Any:
        """`reset` first, then `allow`, then `deny`: deny wins within one request too."""
        only(params, (WORKSPACE, NAME, IDS, "allow", "deny", "reset"))
        # null is "not given", as everywhere in the protocol.
        allow = parse_patterns(string_list(_given(params, "allow", []), "allow"), "allow")
        deny = parse_patterns(string_list(_given(params, "deny", []), "deny"), "deny")
        reset = _given(params, "reset", False)
        if not isinstance(reset, bool):
            raise BadInput(f"'reset' must be true or false, got {reset!r:.40}.", field="reset")
        if not (allow or deny or reset):
            raise BadInput("Nothing to change: give 'allow', 'deny' or 'reset'.")

        def change(policy: Policy) -> Policy:
            policy = policy.reset() if reset else policy
            return policy.with_allowed(allow).with_denied(deny)

        sandbox, policy = await self._workers.engine(self._engine.change_policy,
                                                     one_sandbox(params, self._folders), change)
        return policy_info(sandbox, policy)

    async def log(self, params: dict[str, Any]) -> Any:
        only(params, (WORKSPACE, NAME, IDS, "tail"))
        tail = params.get("tail")
        if tail is not None and (not isinstance(tail, int) or isinstance(tail, bool) or tail < 0):
            raise BadInput(f"'tail' must be a whole number, got {tail!r:.40}.", field="tail")
        blocked = await self._workers.engine(self._engine.blocked, one_sandbox(params, self._folders), tail)
        return {"blocked": [b.to_json() for b in blocked]}



def _given(params: dict[str, Any], key: str, default: Any) -> Any:
    value = params.get(key)
    return default if value is None else value
