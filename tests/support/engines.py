"""Other Docker engines beside the main one, started on this machine for the tests (issue 12).

Each context manager starts one engine, waits until it answers, yields what a test needs (above all
`env`: the variables that point a docker client at it) and tears everything down on exit: its
processes (by process group, then any stragglers by what they run or as whom), its network namespace
and veth pair, its mounts (they live in a mount namespace of its own) and its folders.

- `second_dockerd(tmp)`: a second rootful dockerd in a network namespace of its own (never the host's
  `docker0`), on a unix socket and on tcp with TLS through a veth pair; Docker contexts for both.
- `ssh_engine(tmp)`: the MAIN engine over `ssh://` through an OpenSSH server on 127.0.0.1.
- `podman_service(tmp)` / `podman_service(tmp, rootless=True)`: Podman's Docker-compatible API.
- `rootless_dockerd(tmp)`: rootless Docker (rootlesskit + slirp4netns) as the test user.

Images come from the main engine with `load_image(env, image)` (no registry answers here). The
docker CLI and docker-py read the environment; `client_env(env)` is the process environment without
any DOCKER_* variable of the caller's, plus `env`.

The rootless engines run as an ordinary user made for them (`rootless_user()`: `berthtest`, uid 1000
when free) with /etc/subuid and /etc/subgid ranges; several may run at once (each tears down only the
processes of its own user namespace). Their folders live under /tmp (pytest's tmp_path is root's, mode
0700, unreachable by that user): bind-mount `engine.workdir` or a folder below it. Both need
/dev/net/tun usable by that user (slirp4netns), as udev makes it on an ordinary Debian; this machine has
no udev and leaves it 0600, so they chmod it 0666.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import pwd
import random
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

DOCKER = shutil.which("docker") or "docker"
# Where the veth pairs of second dockerds get their /30s.
VETH_NET = ipaddress.ip_network("10.231.0.0/16")
TLS_PORT = 2376
SSH_ALIAS = "berth-engine"
ROOTLESS_USER = "berthtest"
SSH_USER = "berth-ssh"
# ioctl(2) on a namespace file: a descriptor of its parent namespace (linux/nsfs.h).
NS_GET_PARENT = 0xB702


# ---------------------------------------------------------------------------------------------------
# Docker clients


def client_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without the caller's DOCKER_* variables, plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return base | env


def docker(env: dict[str, str], *args: str, timeout: float = 60, check: bool = True,
           input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The docker CLI with `env` (client_env); output as text. Raises with its stderr on failure."""
    proc = subprocess.run([DOCKER, *args], env=client_env(env), capture_output=True, text=True,
                          timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} (env {env}) exited {proc.returncode}: "
                           f"{proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def load_image(env: dict[str, str], image: str) -> None:
    """Copy `image` from the main engine (the default one, whatever DOCKER_* this process has)
    into the engine of `env`: `docker save IMAGE | docker load`."""
    save = subprocess.Popen([DOCKER, "save", image], env=client_env({}), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert save.stdout is not None
    load = subprocess.run([DOCKER, "load", "-q"], env=client_env(env), stdin=save.stdout,
                          capture_output=True, text=True, timeout=300)
    save.stdout.close()
    save_err = save.stderr.read().decode() if save.stderr else ""
    if save.wait(timeout=60) != 0:
        raise RuntimeError(f"docker save {image} failed: {save_err.strip()}")
    if load.returncode != 0:
        raise RuntimeError(f"docker load of {image} (env {env}) failed: {load.stderr.strip()}")


# ---------------------------------------------------------------------------------------------------
# Processes, readiness, teardown


def _wait_until(condition: Callable[[], bool], what: str, timeout: float,
                procs: list[subprocess.Popen[bytes]] | None = None, log: Path | None = None) -> None:
    """Poll `condition` (short sleeps) until true; fail after `timeout` s or when a process of
    `procs` has exited, with the log's tail."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        if condition():
            return
        dead = [p for p in procs or [] if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = (f"exited with {dead[0].returncode}" if dead else f"not ready after {timeout} s")
            tail = ""
            if log and log.exists():
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(f"{what}: {why}\n--- {log} ---\n{tail}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def _ping_unix(path: Path) -> bool:
    """Whether a Docker-compatible API answers /_ping on this unix socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(path))
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: engine\r\n\r\n")
            return s.recv(64).split(b" ")[1:2] == [b"200"]
    except (OSError, IndexError):
        return False


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], log: Path, **kwargs: object) -> subprocess.Popen[bytes]:
    """Start a daemon in a session (process group) of its own, its output to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, **kwargs)  # type: ignore[call-overload]


def _processes() -> Iterator[tuple[int, int, str]]:
    """(pid, real uid, command line) of every process but this one."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        uid = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:")), -1)
        yield int(entry.name), uid, cmdline


def _alive(pid: int) -> bool:
    try:
        state = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                     if line.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return "zombie" not in state


def _kill_all(pids: set[int], timeout: float = 5) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def _stop(procs: list[subprocess.Popen[bytes]], timeout: float = 15) -> None:
    """SIGTERM each process's group, wait up to `timeout` s, then SIGKILL the groups."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _descendants(root: int) -> set[int]:
    """The processes below `root` (children, their children, ...), whatever their session."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _sweep(marker: str) -> None:
    """SIGKILL every process whose command line mentions `marker` (a folder of the engine's:
    containerd shims and conmon leave the daemon's process group)."""
    _kill_all({pid for pid, _, cmd in _processes() if marker in cmd})


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():  # read-only bits left by an image layer: make writable and retry
        subprocess.run(["chmod", "-R", "u+rwX", str(path)], capture_output=True)
        shutil.rmtree(path, ignore_errors=True)


def _run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


def _remove_all_containers(env: dict[str, str]) -> None:
    """`docker rm -f` of every container of THIS engine (never call it with the main engine's env)."""
    with contextlib.suppress(Exception):
        ids = docker(env, "ps", "-aq", timeout=20).stdout.split()
        if ids:
            docker(env, "rm", "-f", *ids, timeout=60, check=False)


# ---------------------------------------------------------------------------------------------------
# Network namespaces


@dataclass
class _Netns:
    name: str
    host_if: str | None = None
    host_ip: str | None = None
    ns_ip: str | None = None


def _pick_slash30() -> ipaddress.IPv4Network:
    """A /30 of VETH_NET no interface or route of the host uses."""
    used = _run("ip", "-4", "-o", "addr").stdout + _run("ip", "-4", "route").stdout
    subnets = list(VETH_NET.subnets(new_prefix=30))
    for _ in range(200):
        net = random.choice(subnets[1:])
        if str(net.network_address)[:-1] not in used and f" {net[1]}/" not in used:
            return net
    raise RuntimeError(f"no free /30 in {VETH_NET}")


@contextlib.contextmanager
def _netns(veth: bool) -> Iterator[_Netns]:
    """A named network namespace with `lo` up; with `veth`, a veth pair to the host's namespace
    (host side .1, namespace side .2 of a /30 of VETH_NET). Deleted (with the pair) on exit."""
    tag = os.urandom(3).hex()
    ns = _Netns(name=f"berth-eng-{tag}")
    _run("ip", "netns", "add", ns.name)
    try:
        _run("ip", "-n", ns.name, "link", "set", "lo", "up")
        if veth:
            net = _pick_slash30()
            ns.host_if, peer = f"be{tag}h", f"be{tag}n"
            ns.host_ip, ns.ns_ip = str(net[1]), str(net[2])
            _run("ip", "link", "add", ns.host_if, "type", "veth", "peer", "name", peer, "netns", ns.name)
            _run("ip", "addr", "add", f"{ns.host_ip}/30", "dev", ns.host_if)
            _run("ip", "link", "set", ns.host_if, "up")
            _run("ip", "-n", ns.name, "addr", "add", f"{ns.ns_ip}/30", "dev", peer)
            _run("ip", "-n", ns.name, "link", "set", peer, "up")
            _run("ip", "-n", ns.name, "route", "add", "default", "via", ns.host_ip)
        yield ns
    finally:
        pids = set(map(int, subprocess.run(["ip", "netns", "pids", ns.name], capture_output=True,
                                           text=True).stdout.split()))
        _kill_all(pids)
        if ns.host_if:
            subprocess.run(["ip", "link", "del", ns.host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns.name], capture_output=True)


def _in_netns(ns: str, args: list[str], binds: dict[str, Path] | None = None) -> list[str]:
    """`args` run in network namespace `ns` and in a mount namespace of their own (slave of the
    host's, so host folders stay visible and bind-mountable; what the engine mounts stays in there and
    goes with its last process), with `binds` ({host folder: replacement}) bind-mounted over in there.
    Not `ip netns exec`: it remounts /sys, hiding /sys/fs/cgroup."""
    mounts = "".join(f'mount --bind "{src}" "{dst}"; ' for dst, src in (binds or {}).items())
    return ["nsenter", f"--net=/run/netns/{ns}", "unshare", "--mount", "--propagation", "slave",
            "sh", "-ec", f'{mounts}exec "$@"', "sh", *args]


def _kill_cgroup(parent: str) -> None:
    """SIGKILL the processes of cgroup `parent` (every v1 hierarchy and v2) and remove its cgroups."""
    roots = [Path("/sys/fs/cgroup")] + [p for p in Path("/sys/fs/cgroup").iterdir() if p.is_dir()]
    dirs = [root / parent.strip("/") for root in roots if (root / parent.strip("/")).is_dir()]
    pids: set[int] = set()
    for d in dirs:
        for procs in d.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                pids |= set(map(int, procs.read_text().split()))
    _kill_all(pids)
    for d in dirs:
        for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                sub.rmdir()
        with contextlib.suppress(OSError):
            d.rmdir()


# ---------------------------------------------------------------------------------------------------
# 1. A second rootful dockerd: unix socket, tcp+TLS, contexts


def make_tls(where: Path, ip: str) -> tuple[Path, Path]:
    """A CA, a server certificate for `ip` (and 127.0.0.1, localhost), a client certificate.
    Returns (server dir: ca.pem server-cert.pem server-key.pem, client dir: ca.pem cert.pem key.pem)."""
    server, client = where / "server", where / "client"
    server.mkdir(parents=True)
    client.mkdir(parents=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_key = where / "ca-key.pem"
    _run("openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(server / "ca.pem"),
         "-days", "7", "-subj", "/CN=berth-test-ca")
    shutil.copy(server / "ca.pem", client / "ca.pem")

    def sign(key: Path, cert: Path, cn: str, ext: str) -> None:
        csr, extfile = where / f"{cn}.csr", where / f"{cn}.ext"
        extfile.write_text(ext)
        _run("openssl", "req", "-new", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}")
        _run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(server / "ca.pem"), "-CAkey",
             str(ca_key), "-set_serial", str(random.getrandbits(63)), "-days", "7", "-out", str(cert),
             "-extfile", str(extfile))
        csr.unlink()
        extfile.unlink()

    sign(server / "server-key.pem", server / "server-cert.pem", "berth-engine",
         f"subjectAltName=IP:{ip},IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    sign(client / "key.pem", client / "cert.pem", "berth-client", "extendedKeyUsage=clientAuth\n")
    for key in (ca_key, server / "server-key.pem", client / "key.pem"):
        key.chmod(0o600)
    return server, client


@dataclass
class SecondDockerd:
    socket: Path  # its unix socket
    host: str  # unix://<socket>
    tls_host: str  # tcp://<ip>:2376, TLS with client certificates (cert_dir)
    cert_dir: Path  # client material: ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH)
    config_dir: Path  # a DOCKER_CONFIG of the fixture's, where context() writes its contexts
    ip: str  # the dockerd's address on the veth pair (its namespace's side)
    netns: str  # its network namespace (`ip netns exec NAME ...`)
    data_root: Path
    started_in: float  # seconds from start to answering

    @property
    def env(self) -> dict[str, str]:
        """DOCKER_HOST=unix://..."""
        return {"DOCKER_HOST": self.host}

    @property
    def tls_env(self) -> dict[str, str]:
        """DOCKER_HOST=tcp://...:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH."""
        return {"DOCKER_HOST": self.tls_host, "DOCKER_TLS_VERIFY": "1",
                "DOCKER_CERT_PATH": str(self.cert_dir)}

    def context(self, name: str, *, tls: bool = False, current: bool = False) -> dict[str, str]:
        """Create Docker context `name` in config_dir (if it is not there yet) for the unix socket, or
        with `tls` for the TLS endpoint with its ca/cert/key. Returns the env selecting it:
        {DOCKER_CONFIG, DOCKER_CONTEXT}, or with `current` makes it config.json's current context
        (`docker context use`) and returns {DOCKER_CONFIG} alone."""
        cfg = {"DOCKER_CONFIG": str(self.config_dir)}
        names = docker(cfg, "context", "ls", "--format", "{{.Name}}").stdout.split()
        if name not in names:
            if tls:
                spec = (f"host={self.tls_host},ca={self.cert_dir / 'ca.pem'},"
                        f"cert={self.cert_dir / 'cert.pem'},key={self.cert_dir / 'key.pem'}")
            else:
                spec = f"host={self.host}"
            docker(cfg, "context", "create", name, "--docker", spec)
        if current:
            docker(cfg, "context", "use", name)
            return cfg
        return cfg | {"DOCKER_CONTEXT": name}


@contextlib.contextmanager
def second_dockerd(tmp: Path, timeout: float = 60) -> Iterator[SecondDockerd]:
    """A second rootful dockerd (the machine's `dockerd`) in a network namespace of its own, with its
    own docker0 in there, on a unix socket and on tcp://<ip>:2376 with TLS reachable from the host
    over a veth pair. Its data root is under `tmp`; its exec root and socket under a short /tmp folder
    (unix socket paths are limited to 108 bytes)."""
    t0 = time.monotonic()
    tmp.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="second-dockerd-", dir=tmp))
    run = Path(tempfile.mkdtemp(prefix="berth-d2-", dir="/tmp"))
    procs: list[subprocess.Popen[bytes]] = []
    cgroup_parent = f"/{run.name}"
    log = base / "dockerd.log"
    try:
        with _netns(veth=True) as ns:
            assert ns.ns_ip
            _, client = make_tls(base / "tls", ns.ns_ip)
            server = base / "tls" / "server"
            sock = run / "docker.sock"
            (base / "daemon.json").write_text("{}\n")
            # Its own /etc/docker: dockerd 20.10 takes its engine ID from /etc/docker/key.json, so
            # sharing the main engine's would give both the same `docker info` ID.
            etc = base / "etc-docker"
            etc.mkdir()
            args = ["dockerd", "--config-file", str(base / "daemon.json"),
                    "--data-root", str(base / "data"), "--exec-root", str(run / "exec"),
                    "--pidfile", str(run / "docker.pid"), "--cgroup-parent", cgroup_parent,
                    "-H", f"unix://{sock}", "-H", f"tcp://{ns.ns_ip}:{TLS_PORT}",
                    "--tlsverify", "--tlscacert", str(server / "ca.pem"),
                    "--tlscert", str(server / "server-cert.pem"), "--tlskey", str(server / "server-key.pem")]
            binds = {"/etc/docker": etc} if Path("/etc/docker").is_dir() else {}
            procs.append(_start(_in_netns(ns.name, args, binds), log))
            _wait_until(lambda: _ping_unix(sock), "second dockerd (unix socket)", timeout, procs, log)
            _wait_until(lambda: _port_open(ns.ns_ip, TLS_PORT), "second dockerd (tcp)", timeout, procs, log)
            config = base / "docker-config"
            config.mkdir()
            engine = SecondDockerd(socket=sock, host=f"unix://{sock}",
                                   tls_host=f"tcp://{ns.ns_ip}:{TLS_PORT}", cert_dir=client,
                                   config_dir=config, ip=ns.ns_ip, netns=ns.name,
                                   data_root=base / "data", started_in=0.0)
            docker(engine.tls_env, "version", timeout=20)  # TLS with the client certificate answers
            engine.started_in = time.monotonic() - t0
            try:
                yield engine
            finally:
                _remove_all_containers(engine.env)
                _stop(procs)
                _sweep(str(run))
                _kill_cgroup(cgroup_parent)
    finally:
        _stop(procs)
        _sweep(str(run))
        _rmtree(run)
        _rmtree(base)


# ---------------------------------------------------------------------------------------------------
# 2. The main engine over ssh://


@dataclass
class SshEngine:
    home: Path  # fake HOME: .ssh/config (Host berth-engine), .ssh/id_ed25519, .ssh/known_hosts
    bin_dir: Path  # holds `ssh`: /usr/bin/ssh -F <home>/.ssh/config (OpenSSH ignores $HOME)
    ssh_config: Path
    port: int
    user: str
    alias: str
    started_in: float

    @property
    def host(self) -> str:
        return f"ssh://{self.alias}"

    @property
    def env(self) -> dict[str, str]:
        """HOME, PATH (bin_dir first) and DOCKER_HOST=ssh://berth-engine."""
        path = f"{self.bin_dir}:{os.environ.get('PATH', '/usr/local/bin:/usr/bin:/bin')}"
        return {"HOME": str(self.home), "PATH": path, "DOCKER_HOST": self.host}


@contextlib.contextmanager
def ssh_engine(tmp: Path, timeout: float = 30) -> Iterator[SshEngine]:
    """The MAIN engine reached over ssh://berth-engine: an OpenSSH server on 127.0.0.1 (a free port,
    its own sshd_config and host key) that accepts only a client key made here, logging in as an
    ordinary user of the docker group (ssh_user()),
    whose remote side runs `docker system dial-stdio` against the main engine.

    Clients need no answer: a fake HOME holds .ssh/config (Host berth-engine: HostName, Port, User,
    IdentityFile, UserKnownHostsFile holding the host key, StrictHostKeyChecking yes, BatchMode yes).
    OpenSSH takes `~` from the password database, never from $HOME, so `env` also puts first on PATH
    a `ssh` that is /usr/bin/ssh -F that config: what docker CLI and docker-py run is that one."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    ssh = shutil.which("ssh") or "/usr/bin/ssh"
    t0 = time.monotonic()
    tmp.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="ssh-engine-", dir=tmp))
    procs: list[subprocess.Popen[bytes]] = []
    keys: Path | None = None
    try:
        server, home, bin_dir = base / "server", base / "home", base / "bin"
        dot_ssh = home / ".ssh"
        for d in (server, dot_ssh, bin_dir):
            d.mkdir(parents=True)
        dot_ssh.chmod(0o700)
        host_key, client_key = server / "ssh_host_ed25519_key", dot_ssh / "id_ed25519"
        for key, comment in ((host_key, "berth-engine-host"), (client_key, "berth-engine-client")):
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key))
        # Read with the login user's rights: a folder it can reach (pytest's are root's, 0700).
        keys = Path(tempfile.mkdtemp(prefix="berth-sshd-keys-", dir="/tmp"))
        keys.chmod(0o755)
        (keys / "authorized_keys").write_text(Path(f"{client_key}.pub").read_text())
        (keys / "authorized_keys").chmod(0o644)
        ssh_user()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
        port = _free_port()
        (server / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1:{port}\n"
            f"HostKey {host_key}\n"
            f"PidFile {server / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {keys / 'authorized_keys'}\n"
            f"PermitRootLogin no\nAllowUsers {SSH_USER}\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            # The keys live in a folder under /tmp (world-writable): not a home's strict modes.
            "StrictModes no\n"
            "X11Forwarding no\nPrintMotd no\nPrintLastLog no\n"
            # Clients multiplexing or opening many connections at once (benchmarks) are welcome.
            "MaxSessions 100\nMaxStartups 100:30:200\n"
            "LogLevel INFO\n")
        known_hosts = dot_ssh / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {Path(f'{host_key}.pub').read_text()}")
        config = dot_ssh / "config"
        config.write_text(
            f"Host {SSH_ALIAS}\n"
            "  HostName 127.0.0.1\n"
            f"  Port {port}\n"
            f"  User {SSH_USER}\n"
            f"  IdentityFile {client_key}\n"
            "  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {known_hosts}\n"
            "  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n"
            "  LogLevel ERROR\n")
        config.chmod(0o600)
        wrapper = bin_dir / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec {ssh} -F "{config}" "$@"\n')
        wrapper.chmod(0o755)
        log = server / "sshd.log"
        procs.append(_start([sshd, "-D", "-e", "-f", str(server / "sshd_config")], log))
        _wait_until(lambda: _port_open("127.0.0.1", port), "sshd", timeout, procs, log)
        engine = SshEngine(home=home, bin_dir=bin_dir, ssh_config=config, port=port, user=SSH_USER,
                           alias=SSH_ALIAS, started_in=0.0)
        docker(engine.env, "version", timeout=timeout)  # ssh, login, `docker system dial-stdio`
        engine.started_in = time.monotonic() - t0
        yield engine
    finally:
        # Sessions still open (`sshd: berth-ssh@notty` and their `docker system dial-stdio`) left the
        # listener's process group; clients (and ssh masters) name the config, under base.
        for proc in procs:
            _kill_all(_descendants(proc.pid))
        _stop(procs)
        _sweep(str(base))
        _rmtree(base)
        if keys is not None:
            _rmtree(keys)


# ---------------------------------------------------------------------------------------------------
# The rootless engines' user


@dataclass(frozen=True)
class RootlessUser:
    name: str
    uid: int
    gid: int
    subuid: tuple[int, int]  # (first, count) in /etc/subuid
    subgid: tuple[int, int]

    def owns(self, uid: int) -> bool:
        """Whether a process of this uid is this user's or one of its containers' (subordinate)."""
        first, count = self.subuid
        return uid == self.uid or first <= uid < first + count


def _sub_range(path: Path, name: str, uid: int) -> tuple[int, int] | None:
    for line in path.read_text().splitlines() if path.exists() else []:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in (name, str(uid)):
            return int(parts[1]), int(parts[2])
    return None


def _add_sub_range(path: Path, name: str, uid: int) -> tuple[int, int]:
    """This user's range in /etc/subuid or /etc/subgid; one of 65536 after every other if none."""
    found = _sub_range(path, name, uid)
    if found:
        return found
    end = 100000
    for line in path.read_text().splitlines() if path.exists() else []:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            end = max(end, int(parts[1]) + int(parts[2]))
    with open(path, "a") as f:
        f.write(f"{name}:{end}:65536\n")
    return end, 65536


def ssh_user() -> str:
    """The user the ssh engine logs in as: an ordinary one in the `docker` group, as on a remote
    machine, with /bin/sh as its shell (root's bash would read root's ~/.bashrc on every login, and
    whatever the machine's owner put there)."""
    try:
        pwd.getpwnam(SSH_USER)
    except KeyError:
        # Password `*`: none, but not locked (sshd without PAM refuses a locked account any login).
        _run("useradd", "--user-group", "--create-home", "--shell", "/bin/sh", "--groups", "docker",
             "--password", "*", SSH_USER)
    return SSH_USER


def rootless_user() -> RootlessUser:
    """The ordinary user the rootless engines run as: `berthtest`, made once (uid 1000 if free, else
    the first free uid above), with subordinate uid and gid ranges. Left in place afterwards."""
    try:
        pw = pwd.getpwnam(ROOTLESS_USER)
    except KeyError:
        uid = 1000
        while True:
            try:
                pwd.getpwuid(uid)
                uid += 1
            except KeyError:
                break
        _run("useradd", "--uid", str(uid), "--user-group", "--create-home", "--shell", "/bin/bash",
             ROOTLESS_USER)
        pw = pwd.getpwnam(ROOTLESS_USER)
    subuid = _add_sub_range(Path("/etc/subuid"), pw.pw_name, pw.pw_uid)
    subgid = _add_sub_range(Path("/etc/subgid"), pw.pw_name, pw.pw_uid)
    return RootlessUser(pw.pw_name, pw.pw_uid, pw.pw_gid, subuid, subgid)


def _ensure_tun() -> None:
    """/dev/net/tun usable by every user (slirp4netns opens it in the user's namespaces), as udev's
    default rule makes it; this machine has no udev and leaves it 0600."""
    tun = Path("/dev/net/tun")
    if tun.exists() and tun.stat().st_mode & 0o777 != 0o666:
        tun.chmod(0o666)


@contextlib.contextmanager
def _rootless_dirs(user: RootlessUser, prefix: str) -> Iterator[tuple[Path, Path]]:
    """(base, runtime): a folder under /tmp owned by the user, mode 0755, and in it its
    XDG_RUNTIME_DIR (0700). Removed on exit."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        runtime = base / "run"
        runtime.mkdir(mode=0o700)
        for d in (base, runtime):
            os.chown(d, user.uid, user.gid)
        base.chmod(0o755)
        yield base, runtime
    finally:
        _rmtree(base)


def _userns_chain(pid: int) -> list[int]:
    """The inode numbers of a process's user namespace and of its ancestors but the initial one."""
    chain: list[int] = []
    try:
        fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY)
    except OSError:
        return chain
    try:
        while True:
            chain.append(os.fstat(fd).st_ino)
            try:
                parent = fcntl.ioctl(fd, NS_GET_PARENT)
            except OSError:  # EPERM: the initial namespace, which has none
                break
            os.close(fd)
            fd = parent
    finally:
        os.close(fd)
    return chain[:-1] if chain and chain[-1] == os.stat("/proc/self/ns/user").st_ino else chain


def _engine_userns(marker: str) -> set[int]:
    """The user namespaces (not the initial one) of the processes whose command line has `marker`: a
    rootless engine's own, where its containers run (or in namespaces nested in it: keep-id)."""
    initial = os.stat("/proc/self/ns/user").st_ino
    found: set[int] = set()
    for pid, _, cmd in _processes():
        if marker in cmd:
            with contextlib.suppress(OSError):
                ino = os.stat(f"/proc/{pid}/ns/user").st_ino
                if ino != initial:
                    found.add(ino)
    return found


def _sweep_userns(namespaces: set[int]) -> None:
    """SIGKILL every process in one of these user namespaces or in one nested in them."""
    if namespaces:
        _kill_all({pid for pid, _, _ in _processes() if namespaces & set(_userns_chain(pid))})


def _user_env(user: RootlessUser, home: Path, runtime: Path, extra: dict[str, str]) -> dict[str, str]:
    return {"HOME": str(home), "USER": user.name, "LOGNAME": user.name, "XDG_RUNTIME_DIR": str(runtime),
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"} | extra


def _user_kwargs(user: RootlessUser, home: Path) -> dict[str, object]:
    return {"user": user.uid, "group": user.gid, "extra_groups": [], "cwd": str(home)}


# ---------------------------------------------------------------------------------------------------
# 3. Podman's API service


@dataclass
class PodmanService:
    socket: Path
    host: str  # unix://<socket>
    rootless: bool
    uid: int  # who the service runs as (0, or the rootless user's)
    gid: int
    workdir: Path  # a folder the engine's user owns and can bind-mount (rootless: under /tmp)
    storage_driver: str  # "overlay" or "vfs"
    network_backend: str  # what `podman info` says ("netavark" or "cni")
    podman_env: dict[str, str]  # the env for running `podman` itself against the same storage
    started_in: float
    user: RootlessUser | None = None  # rootless: who it runs as

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.host}

    def podman(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`podman ARGS` on this service's storage, as its user."""
        kwargs = _user_kwargs(self.user, Path(self.podman_env["HOME"])) if self.user else {}
        return _run("podman", *args, env=self.podman_env, timeout=120, **kwargs)


def _podman_conf(base: Path, runtime: Path, driver: str) -> dict[str, str]:
    """containers.conf and storage.conf of the fixture's own: its storage, runtime folders, network
    config and events file, cgroupfs (no systemd here). Returns the env naming them."""
    (base / "storage.conf").write_text(
        "[storage]\n"
        f'driver = "{driver}"\n'
        f'runroot = "{runtime / "storage"}"\n'
        f'graphroot = "{base / "storage"}"\n')
    # Podman asks for nofile 1048576 in rootful containers whatever its own limit: raising a hard limit
    # needs CAP_SYS_RESOURCE, which this sandbox's root lacks (crun: "setrlimit `RLIMIT_NOFILE`:
    # Operation not permitted"), and the same for nproc. Containers get this process's hard limits
    # instead; podman's service itself lowers its nproc to 32768, so no more than that.
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768)
    ulimits = ", ".join(f'"{name}={limit}:{limit}"' for name, limit in (("nofile", nofile), ("nproc", nproc))
                        if limit != resource.RLIM_INFINITY)
    (base / "containers.conf").write_text(
        "[containers]\n"
        f"default_ulimits = [{ulimits}]\n"
        "[engine]\n"
        # crun 1.8 refuses this machine's hybrid cgroup layout (v1 controllers and a v2 mount):
        # "cgroups in hybrid mode not supported, drop all controllers from cgroupv2". runc runs.
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'events_logfile_path = "{runtime / "events.log"}"\n'
        f'tmp_dir = "{runtime / "libpod"}"\n'
        "[network]\n"
        'network_backend = "netavark"\n'
        f'network_config_dir = "{base / "networks"}"\n')
    return {"CONTAINERS_CONF": str(base / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(base / "storage.conf")}


@contextlib.contextmanager
def podman_service(tmp: Path, *, rootless: bool = False, driver: str | None = None,
                   timeout: float = 60) -> Iterator[PodmanService]:
    """Podman's Docker-compatible API (`podman system service --time=0 unix://...`) on storage of its
    own. Rootful: as root, in a network namespace of its own (podman0 never in the host's). Rootless:
    as rootless_user() with its own XDG_RUNTIME_DIR; containers get slirp4netns.

    `driver`: the storage driver; by default overlay when `podman info` accepts it on this
    filesystem, else vfs. Rootless, its folders are under /tmp, not `tmp` (root's, unreachable)."""
    t0 = time.monotonic()
    tmp.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:
        if rootless:
            user = rootless_user()
            _ensure_tun()
            base, runtime = stack.enter_context(_rootless_dirs(user, "berth-podman-"))
            uid, gid = user.uid, user.gid
            home = base / "home"
            home.mkdir()
            os.chown(home, uid, gid)
            kwargs = _user_kwargs(user, home)
        else:
            base = Path(tempfile.mkdtemp(prefix="podman-", dir=tmp))
            runtime = Path(tempfile.mkdtemp(prefix="berth-pm-", dir="/tmp"))
            stack.callback(_rmtree, base)
            stack.callback(_rmtree, runtime)
            uid = gid = 0
            home = base / "home"
            home.mkdir()
            kwargs = {}
        workdir = base / "work"
        workdir.mkdir()
        os.chown(workdir, uid, gid)
        userns: set[int] = set()  # rootless: its user namespace, where its processes are swept from
        if rootless:
            stack.callback(_sweep_userns, userns)
        conf_env: dict[str, str] = {}
        chosen = backend = ""
        for candidate in [driver] if driver else ["overlay", "vfs"]:
            conf_env = _podman_conf(base, runtime, candidate)
            for name in ("storage.conf", "containers.conf"):
                os.chown(base / name, uid, gid)
            penv = (_user_env(user, home, runtime, conf_env) if rootless
                    else client_env({"HOME": str(home)} | conf_env))
            probe = subprocess.run(
                ["podman", "info", "--format", "{{.Store.GraphDriverName}} {{.Host.NetworkBackend}}"],
                env=penv, capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload]
            # Rootless, that started podman's pause process: the holder of its user namespace.
            with contextlib.suppress(OSError, ValueError):
                pause = int((runtime / "libpod" / "tmp" / "pause.pid").read_text())
                userns.add(os.stat(f"/proc/{pause}/ns/user").st_ino)
            if probe.returncode == 0 and probe.stdout.split()[:1] == [candidate]:
                chosen, backend = probe.stdout.split()
                break
            (base / f"probe-{candidate}.log").write_text(probe.stdout + probe.stderr)
            _rmtree(base / "storage")
            _rmtree(runtime / "storage")
        if not chosen:
            probe_log = (base / "probe-vfs.log").read_text()
            raise RuntimeError(f"podman accepts no storage driver here: {probe_log}")
        sock = runtime / "podman.sock"
        log = base / "podman.log"
        service = ["podman", "system", "service", "--time=0", f"unix://{sock}"]
        if rootless:
            procs.append(_start(service, log, env=penv, **kwargs))
        else:
            ns = stack.enter_context(_netns(veth=False))
            procs.append(_start(_in_netns(ns.name, service), log, env=penv))
        stack.callback(_sweep, str(runtime))
        stack.callback(_sweep, str(base))
        stack.callback(_stop, procs)
        _wait_until(lambda: _ping_unix(sock), "podman system service", timeout, procs, log)
        if rootless:
            userns |= _engine_userns(str(runtime))
        engine = PodmanService(socket=sock, host=f"unix://{sock}", rootless=rootless, uid=uid, gid=gid,
                               workdir=workdir, storage_driver=chosen,
                               network_backend=backend,
                               podman_env=penv, started_in=time.monotonic() - t0,
                               user=user if rootless else None)
        stack.callback(_remove_all_containers, engine.env)
        yield engine


# ---------------------------------------------------------------------------------------------------
# 4. Rootless dockerd


def dockerd_rootless_script() -> Path:
    """docker.io's dockerd-rootless.sh (Debian ships it under /usr/share/docker.io/contrib)."""
    for candidate in (shutil.which("dockerd-rootless.sh"), "/usr/share/docker.io/contrib/dockerd-rootless.sh",
                      "/usr/bin/dockerd-rootless.sh"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError("dockerd-rootless.sh not found (Debian's docker.io ships it in "
                       "/usr/share/docker.io/contrib)")


@dataclass
class RootlessDockerd:
    socket: Path
    host: str  # unix://<socket>
    uid: int  # the user it runs as; container root is this uid on the host
    gid: int
    workdir: Path  # a folder the user owns, to bind-mount
    started_in: float

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.host}


@contextlib.contextmanager
def rootless_dockerd(tmp: Path, timeout: float = 60) -> Iterator[RootlessDockerd]:
    """Rootless Docker: dockerd-rootless.sh (rootlesskit, slirp4netns) as rootless_user(), with its
    data root, exec root and socket in a folder of that user's under /tmp. `tmp` is unused (root's
    pytest folders are unreachable by the user); kept for a uniform signature."""
    del tmp
    t0 = time.monotonic()
    user = rootless_user()
    _ensure_tun()
    script = dockerd_rootless_script()
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:
        base, runtime = stack.enter_context(_rootless_dirs(user, "berth-rld-"))
        userns: set[int] = set()
        stack.callback(_sweep_userns, userns)
        stack.callback(_sweep, str(base))
        home, workdir = base / "home", base / "work"
        for d in (home, workdir):
            d.mkdir()
            os.chown(d, user.uid, user.gid)
        sock = runtime / "docker.sock"
        log = base / "dockerd.log"
        env = _user_env(user, home, runtime, {})
        args = [str(script), "--data-root", str(base / "data"), "--exec-root", str(runtime / "exec"),
                "--pidfile", str(runtime / "docker.pid"), "-H", f"unix://{sock}"]
        procs.append(_start(args, log, env=env, **_user_kwargs(user, home)))
        stack.callback(_stop, procs)
        _wait_until(lambda: _ping_unix(sock), "rootless dockerd", timeout, procs, log)
        userns |= _engine_userns(str(base))
        engine = RootlessDockerd(socket=sock, host=f"unix://{sock}", uid=user.uid, gid=user.gid,
                                 workdir=workdir, started_in=time.monotonic() - t0)
        stack.callback(_remove_all_containers, engine.env)
        yield engine


__all__ = ["PodmanService", "RootlessDockerd", "RootlessUser", "SecondDockerd", "SshEngine", "client_env",
           "docker", "load_image", "make_tls", "podman_service", "rootless_dockerd", "rootless_user",
           "second_dockerd", "ssh_engine"]
