"""A program run in a real pseudo-terminal, as a user's terminal runs `berth run` or `berth attach`:
what it prints is read as it comes, and each wait ends as soon as the text shows (or fails at a
deadline, saying what the screen held)."""

from __future__ import annotations

import os
import pty
import select
import signal
import struct
import termios
import time
from fcntl import ioctl


class Terminal:
    def __init__(self, argv: list[str], *, cwd: str | None = None, cols: int = 100,
                 rows: int = 30, env: dict[str, str] | None = None) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the program, in the terminal
            if cwd:
                os.chdir(cwd)
            os.execvpe(argv[0], argv, {**os.environ, "TERM": "xterm-256color", **(env or {})})
        ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.output = b""
        self.exit_code: int | None = None

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        self.output += chunk
        return True

    def expect(self, text: str, timeout: float = 30.0) -> None:
        """Until `text` has been printed (since the start)."""
        deadline = time.monotonic() + timeout
        while text not in self.text:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.5)):
                if text in self.text:
                    return
                raise AssertionError(f"{text!r} never showed; the terminal held:\n{self.text[-3000:]}")

    def send(self, data: str | bytes) -> None:
        os.write(self.fd, data.encode() if isinstance(data, str) else data)

    def wait(self, timeout: float = 30.0) -> int:
        """Until the program exits (reading what it prints meanwhile); its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0):  # the rest of its output
                    if not select.select([self.fd], [], [], 0)[0]:
                        break
                self.exit_code = os.waitstatus_to_exitcode(status)
                return self.exit_code
            self._read(0.2)
        raise AssertionError(f"still running after {timeout} s; the terminal held:\n{self.text[-3000:]}")

    def close(self) -> None:
        """The terminal closed under the program (a tab closed): it gets a hang-up."""
        if self.exit_code is None:
            try:
                os.kill(self.pid, signal.SIGHUP)
                try:
                    self.wait(5)
                except AssertionError:  # as an editor does with a tab's process that stays
                    os.kill(self.pid, signal.SIGKILL)
                    self.wait(15)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)
