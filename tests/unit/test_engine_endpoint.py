"""Which engine Berth finds: the docker CLI's own order (DOCKER_HOST, DOCKER_CONTEXT, the current
context, the default), contexts as the real `docker context create` writes them (TLS included), the
terminal's command line for the same engine, and setup errors that say what to fix."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from berth.engine.endpoint import resolve
from berth.engine.ssh_transport import ssh_argv
from berth.errors import EngineSetup


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "docker-config"
    folder.mkdir()
    return folder


def docker_cli(config: Path, *args: str) -> None:
    subprocess.run(["docker", "--config", str(config), *args], check=True, capture_output=True)


def tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a client certificate signed by it, as the CLI expects them (PEM)."""
    folder.mkdir(exist_ok=True)
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca-key.pem", "ca.pem", "key.pem",
                                                        "client.csr", "cert.pem"))
    run = ["openssl"]
    subprocess.run([*run, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj",
                    "/CN=test-ca"], check=True, capture_output=True)
    subprocess.run([*run, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(csr), "-subj", "/CN=client"],
                   check=True, capture_output=True)
    subprocess.run([*run, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
                    "-CAcreateserial", "-out", str(cert), "-days", "2"],
                   check=True, capture_output=True)
    return ca, cert, key


def env(config: Path, **values: str) -> dict[str, str]:
    return {"HOME": str(config.parent), "DOCKER_CONFIG": str(config), **values}


def test_the_default_is_the_default_socket_named_on_the_terminal_command_line(config):
    endpoint = resolve(env(config))
    assert endpoint.host == "unix:///var/run/docker.sock" and endpoint.source == "default"
    assert endpoint.cli_args() == ["--config", str(config), "-H", "unix:///var/run/docker.sock"]


def test_docker_context_names_the_context_and_its_host(config):
    docker_cli(config, "context", "create", "second", "--docker", "host=unix:///run/second.sock")
    endpoint = resolve(env(config, DOCKER_CONTEXT="second"))
    assert (endpoint.host, endpoint.context, endpoint.source) == (
        "unix:///run/second.sock", "second", "DOCKER_CONTEXT")
    assert endpoint.socket_path == "/run/second.sock"
    assert endpoint.cli_args() == ["--config", str(config), "--context", "second"]
    assert "context second" in endpoint.describe()


def test_the_current_context_of_config_json_when_no_variable_says(config):
    docker_cli(config, "context", "create", "desk", "--docker", "host=unix:///run/desk.sock")
    docker_cli(config, "context", "use", "desk")
    assert json.loads((config / "config.json").read_text())["currentContext"] == "desk"
    endpoint = resolve(env(config))
    assert (endpoint.host, endpoint.source) == ("unix:///run/desk.sock", "config")


def test_docker_host_wins_over_docker_context_as_for_the_cli(config):
    docker_cli(config, "context", "create", "second", "--docker", "host=unix:///run/second.sock")
    endpoint = resolve(env(config, DOCKER_HOST="tcp://10.1.2.3:2375", DOCKER_CONTEXT="second"))
    assert (endpoint.host, endpoint.source, endpoint.context) == (
        "tcp://10.1.2.3:2375", "DOCKER_HOST", None)
    assert endpoint.cli_args()[-2:] == ["-H", "tcp://10.1.2.3:2375"]
    assert endpoint.remote


def test_a_context_brings_its_tls_material(config, tmp_path):
    ca, cert, key = tls_files(tmp_path / "tls")
    docker_cli(config, "context", "create", "secure", "--docker",
               f"host=tcp://10.1.2.3:2376,ca={ca},cert={cert},key={key}")
    endpoint = resolve(env(config, DOCKER_CONTEXT="secure"))
    assert endpoint.tls is not None and endpoint.tls.verify
    assert Path(endpoint.tls.ca_cert).read_bytes() == ca.read_bytes()
    assert Path(endpoint.tls.cert[0]).read_bytes() == cert.read_bytes()
    # The CLI reads the same material from its own store.
    assert endpoint.cli_args()[-2:] == ["--context", "secure"]


def test_docker_host_with_tls_variables_gives_the_cli_the_same_flags(config, tmp_path):
    ca, cert, key = tls_files(tmp_path / "certs")
    endpoint = resolve(env(config, DOCKER_HOST="tcp://10.1.2.3:2376", DOCKER_TLS_VERIFY="1",
                           DOCKER_CERT_PATH=str(ca.parent)))
    assert endpoint.tls is not None and endpoint.tls.verify
    assert endpoint.cli_args()[2:] == ["-H", "tcp://10.1.2.3:2376", "--tlsverify",
                                       "--tlscacert", str(ca), "--tlscert", str(cert),
                                       "--tlskey", str(key)]


def test_tls_variables_as_the_cli_reads_them(config, tmp_path):
    ca, cert, key = tls_files(tmp_path / "certs")
    folder = str(ca.parent)
    # DOCKER_CERT_PATH alone turns nothing on.
    plain = resolve(env(config, DOCKER_HOST="tcp://10.1.2.3:2376", DOCKER_CERT_PATH=folder))
    assert plain.tls is None and plain.cli_args()[-2:] == ["-H", "tcp://10.1.2.3:2376"]
    # DOCKER_TLS: TLS with the client certificate, the server unchecked.
    unchecked = resolve(env(config, DOCKER_HOST="tcp://10.1.2.3:2376", DOCKER_TLS="1",
                            DOCKER_CERT_PATH=folder))
    assert unchecked.tls is not None and not unchecked.tls.verify
    assert unchecked.cli_args()[-5:] == ["--tls", "--tlscert", str(cert), "--tlskey", str(key)]


def test_context_tls_without_a_ca_checks_with_the_system_cas_and_skip_verify_means_tls(config,
                                                                                        tmp_path):
    _, cert, key = tls_files(tmp_path / "tls")
    docker_cli(config, "context", "create", "public", "--docker",
               f"host=tcp://engine.example:2376,cert={cert},key={key}")
    public = resolve(env(config, DOCKER_CONTEXT="public")).tls
    assert public is not None and public.verify is True and public.ca_cert is None
    docker_cli(config, "context", "create", "lab", "--docker",
               "host=tcp://10.1.2.3:2376,skip-tls-verify=true")
    lab = resolve(env(config, DOCKER_CONTEXT="lab")).tls
    assert lab is not None and lab.verify is False


def test_a_context_on_the_terminal_names_the_configuration_it_came_from(tmp_path):
    home = tmp_path / "home"
    docker_cli(home / ".docker", "context", "create", "desk", "--docker",
               "host=unix:///run/desk.sock")
    endpoint = resolve({"HOME": str(home), "DOCKER_CONTEXT": "desk"})
    assert endpoint.cli_args() == ["--config", str(home / ".docker"), "--context", "desk"]


@pytest.mark.parametrize(("host", "problem"), [
    ("ssh://me:hunter2@box", "password"),
    ("ssh://box:notaport", "port that is not a number"),
    ("ssh://box?x=1", "extra query"),
    ("ssh://box#frag", "extra fragment"),
])
def test_ssh_addresses_the_cli_refuses_are_setup_errors_that_never_show_a_password(
        config, host, problem):
    with pytest.raises(EngineSetup) as caught:
        resolve(env(config, DOCKER_HOST=host))
    assert problem in caught.value.message and "hunter2" not in caught.value.message


@pytest.mark.parametrize(("values", "names"), [
    ({"DOCKER_CONTEXT": "nope"}, ["'nope'", "DOCKER_CONTEXT", "docker context ls"]),
    ({"DOCKER_HOST": "bogus://x"}, ["DOCKER_HOST", "bogus://x", "unix:///PATH"]),
    ({"DOCKER_HOST": "ssh://"}, ["DOCKER_HOST", "names no host"]),
    ({"DOCKER_HOST": "tcp://10.1.2.3:2376", "DOCKER_TLS_VERIFY": "1",
      "DOCKER_CERT_PATH": "/nonexistent/certs"}, ["DOCKER_CERT_PATH", "ca.pem"]),
])
def test_configuration_mistakes_are_setup_errors_naming_the_fix(config, values, names):
    with pytest.raises(EngineSetup) as caught:
        resolve(env(config, **values))
    assert caught.value.kind == "engineSetup" and caught.value.exit_status == 9
    for name in names:
        assert name in caught.value.message


def test_a_current_context_that_is_gone_is_a_setup_error(config):
    (config / "config.json").write_text(json.dumps({"currentContext": "removed"}))
    with pytest.raises(EngineSetup, match="'removed'.*current context"):
        resolve(env(config))
    (config / "config.json").write_text("{not json")
    with pytest.raises(EngineSetup, match="cannot be read"):
        resolve(env(config))


def test_ssh_runs_the_system_client_without_questions_and_relays_to_the_named_socket():
    argv = ssh_argv("ssh://dev@build-box:2222/run/user/1000/docker.sock", 30)
    assert argv[0] == "ssh" and "BatchMode=yes" in argv and "ConnectTimeout=30" in argv
    assert argv[argv.index("-l") + 1] == "dev" and argv[argv.index("-p") + 1] == "2222"
    assert argv[-2:] == ["build-box",
                         "docker --host unix:///run/user/1000/docker.sock system dial-stdio"]
    assert ssh_argv("ssh://build-box", 30)[-2:] == ["build-box", "docker system dial-stdio"]
