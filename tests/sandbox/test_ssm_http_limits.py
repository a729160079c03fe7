"""The sandbox's HTTP server with requests that are too long or never finish (issue 13, item 7).

A real server process on a loopback port: what is tested is the socket (a reset, an answer, a
clean close), which the in-process app cannot show.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator

import httpx
import pytest

from sandbox.ssm.testing import SandboxProcess, running_sandbox

READ_TIMEOUT = 3  # seconds the server waits for an unfinished request (--read-timeout)
GUARD = 20.0  # a socket read longer than this means the server never answered


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path_factory.mktemp("ssm-limits"), read_timeout=READ_TIMEOUT) as ssm:
        yield ssm


def still_answers(server: SandboxProcess) -> bool:
    return httpx.get(server.control_url + "/health", timeout=GUARD).json() == {"status": "ok"}


@pytest.mark.parametrize("length", [20_000, 200_000])
def test_a_long_url_is_414_not_a_reset(server: SandboxProcess, length: int) -> None:
    """20 kB arrives in one read (h11 would take it), 200 kB overflows h11's buffer."""
    target = b"/api/v4/accounts?where=" + b"a" * length
    status, body = exchange(server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, body) == (414, {"statusCode": 414, "message": "URI Too Long"})
    assert still_answers(server)


@pytest.mark.parametrize("length", [20_000, 200_000])
def test_a_long_header_is_431_not_a_reset(server: SandboxProcess, length: int) -> None:
    head = b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * length + b"\r\n\r\n"
    status, body = exchange(server, head)
    assert (status, body) == (
        431,
        {"statusCode": 431, "message": "Request Header Fields Too Large"},
    )
    assert still_answers(server)


def test_a_long_url_within_the_limit_is_served(server: SandboxProcess) -> None:
    """The limit is h11's 16 KiB for the whole head: a 12 kB URL still gets its answer."""
    answer = httpx.get(server.control_url + "/health", params={"pad": "p" * 12_000}, timeout=GUARD)
    assert answer.json() == {"status": "ok"}


def test_a_long_body_after_a_refused_head_is_drained(server: SandboxProcess) -> None:
    """The answer comes before the client has sent everything; the server reads the rest
    instead of resetting the connection, so the client reads its 431."""
    head = b"POST /api/v4/products HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40_000
    request = head + b"\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1_000_000
    status, body = exchange(server, request)
    assert (status, body) == (
        431,
        {"statusCode": 431, "message": "Request Header Fields Too Large"},
    )


def test_unfinished_requests_end_and_others_are_served_meanwhile(server: SandboxProcess) -> None:
    token = server.login()
    short_body = (
        "POST /api/v4/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Session-Key: {token}\r\nContent-Length: 100\r\n\r\n" + '{"model": "Half'
    )
    half_head = "GET /sandbox/health HTTP/1.1\r\nHost: x\r\nX-Slow: "
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=GUARD) as body_sock,
        socket.create_connection(("127.0.0.1", server.port), timeout=GUARD) as head_sock,
    ):
        body_sock.sendall(short_body.encode())
        head_sock.sendall(half_head.encode())
        # Both wait for the read timeout; other clients are answered meanwhile.
        assert still_answers(server)
        listed = httpx.get(server.base_url + "/products", headers={"X-Session-Key": token})
        assert listed.json() == []
        assert not readable(body_sock) and not readable(head_sock)
        body_answer = read_until_closed(body_sock)
        head_answer = read_until_closed(head_sock)
    assert body_answer.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body_answer.split(b"\r\n\r\n", 1)[1]) == {
        "statusCode": 408,
        "message": "Request Timeout",
    }
    assert head_answer == b""  # closed cleanly, without an answer
    assert httpx.get(server.base_url + "/products", headers={"X-Session-Key": token}).json() == []


def exchange(server: SandboxProcess, request: bytes) -> tuple[int, object]:
    """Send raw bytes, read until the server closes: (status, JSON body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=GUARD) as sock:
        sock.sendall(request)
        answer = read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nconnection: close" in head.lower()
    return int(head.split(b" ")[1]), json.loads(body)


def readable(sock: socket.socket) -> bool:
    ready, _, _ = select.select([sock], [], [], 0)
    return bool(ready)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; a reset fails the test."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
