"""An agent's browser login from the host: the real Codex CLI's `codex login` waits for the browser's
callback on the sandbox's own loopback, port 1455. The server notices the port, a forward takes the
same number on this machine, and the callback the browser would make reaches Codex's login server
in the sandbox (offline, it answers a made-up state with "State mismatch": it got the request)."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request

from support.images import HOST_UID

CALLBACK = 1455


async def test_codex_login_callback_reaches_the_sandbox_through_a_forward(
        sessions, make_workspace, real_template):
    workspace = make_workspace("codex-login")
    s = await sessions([workspace], options={"template": real_template, "agent": "codex",
                                             "credentials": "isolated"})
    sandbox = (await s.request("sandbox/run", {}))["name"]
    subprocess.Popen(["docker", "exec", "-u", str(HOST_UID), sandbox, "sh", "-c",
                      "codex login > /tmp/login.out 2>&1"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    noticed = await s.wait_ports(lambda p: any(i["port"] == CALLBACK for i in p["listening"]),
                                 timeout=60)
    assert {"port": CALLBACK, "address": "127.0.0.1"} in noticed["listening"]
    forward = await s.request("sandbox/forwardPort", {"port": CALLBACK})
    assert forward["url"] == f"http://127.0.0.1:{CALLBACK}"  # the redirect URI Codex gave
    try:
        with urllib.request.urlopen(f"{forward['url']}/auth/callback?code=x&state=made-up",
                                    timeout=10) as answer:
            said = answer.read().decode()
    except urllib.error.HTTPError as exc:
        said = exc.read().decode()
    assert "State mismatch" in said
    printed = subprocess.run(["docker", "exec", sandbox, "cat", "/tmp/login.out"],
                             capture_output=True, text=True).stdout
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback" in printed
    await s.request("sandbox/remove", {})
