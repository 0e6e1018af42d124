"""The pure parts of port forwarding: reading the kernel's listening-socket tables, the portal's log
lines, and what `berth ports forward` takes."""

from __future__ import annotations

import pytest
from berth.engine.ports import Forward, parse_forward, parse_line
from berth.errors import BadInput
from berth.network.portal import MAX_PORTS, listening

# /proc/net/tcp and tcp6 as the kernel writes them: addresses in host byte order by 32-bit word.
TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2 1
   2: 0B00007F:A0D9 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1
   3: 0100007F:0BB8 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 4 1
   4: 0100007F:1435 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5 1
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000001000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 00000000000000000000000000000000:22B8 00000000000000000000000000000000:0000 0A 00000000:00000000
   2: 0000000000000000FFFF00000100007F:2382 00000000000000000000000000000000:0000 0A 00000000:00000000
"""


def test_listening_ports_come_from_the_kernel_tables_one_entry_per_port():
    assert listening([TCP, TCP6]) == [
        {"port": 3000, "address": "127.0.0.1"},  # an established connection is not listening
        {"port": 5173, "address": "127.0.0.1"},  # on both loopbacks: the first one read
        {"port": 8080, "address": "0.0.0.0"},
        {"port": 8888, "address": "::"},
        {"port": 9090, "address": "127.0.0.1"},  # IPv4-mapped
    ]  # the engine's name server (127.0.0.11) is not the agent's
    assert listening([]) == [] and listening(["header only\n", "  0: junk\n"]) == []


def test_a_wildcard_wins_over_a_loopback_of_the_same_port():
    both = TCP.splitlines()[0] + "\n   0: 0100007F:0050 0 0A\n   1: 00000000:0050 0 0A\n"
    assert listening([both]) == [{"port": 80, "address": "0.0.0.0"}]


def test_no_more_ports_than_the_limit_are_reported():
    many = "h\n" + "".join(f"  {n}: 00000000:{n + 1:04X} 0 0A\n" for n in range(MAX_PORTS + 50))
    assert len(listening([many])) == MAX_PORTS


def test_portal_lines_are_read_with_or_without_the_engines_timestamp():
    line = '{"listening": [{"port": 3000, "address": "127.0.0.1"}]}'
    assert parse_line(line) == [{"port": 3000, "address": "127.0.0.1"}]
    assert parse_line(f"2026-11-28T03:10:09.151510423Z {line}\n".encode()) == [
        {"port": 3000, "address": "127.0.0.1"}]
    assert parse_line('{"forwarding": 3000}') is None and parse_line(b"junk") is None
    assert parse_line('{"listening": [{"port": "x"}, 7, {"port": 1, "address": "a"}]}') == [
        {"port": 1, "address": "a"}]


@pytest.mark.parametrize("spec, parsed", [
    ("3000", (None, None, 3000)), (3000, (None, None, 3000)), ("8080:3000", (None, 8080, 3000)),
    ("0.0.0.0:8080:3000", ("0.0.0.0", 8080, 3000)), ("[::1]:80:80", ("::1", 80, 80)),
])
def test_what_forward_takes(spec, parsed):
    assert parse_forward(spec) == parsed


@pytest.mark.parametrize("spec, said", [
    ("x", "Port 'x' is not a port to forward: give PORT, HOST_PORT:PORT or HOST_IP:HOST_PORT:PORT."),
    ("70000", "Port '70000' is not a port to forward"),
    ("8080:0", "(container port 0 is not from 1 to 65535)"),
    ("1.2.3:1:2", "('1.2.3' is not an IP address of this machine)"),
    (True, "Port 'True' is not a port to forward"),
])
def test_what_forward_refuses_names_the_value(spec, said):
    with pytest.raises(BadInput) as caught:
        parse_forward(spec)
    assert said in caught.value.message


def test_a_forward_on_every_address_is_opened_on_loopback():
    assert Forward(3000, "0.0.0.0", 3001, "c").url == "http://127.0.0.1:3001"
    assert Forward(3000, "::1", 3001, "c").url == "http://[::1]:3001"
