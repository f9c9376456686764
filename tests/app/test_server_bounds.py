"""HTTP bounds below the app: header size and slow bodies, on real uvicorn servers."""

import asyncio
import socket
import time
from urllib.parse import urlsplit

import pytest

from app.factory import create_app
from tests.conftest import make_settings, settings_env
from tests.processes import api_process
from tests.support import serve

QUERY = b'{"query": "{ __typename }"}'


async def exchange(base_url: str, *parts: bytes, pause: float = 0) -> tuple[bytes, float]:
    """Send `parts` (`pause` seconds apart) while reading until the server closes (or 15 s).

    Returns what the server answered and how long after the first part it closed. Plain
    socket calls: a send the server refused must not discard the answer it wrote first.
    """
    address = urlsplit(base_url)
    loop, answer = asyncio.get_running_loop(), b""
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.setblocking(False)
        sending = asyncio.create_task(_send(sock, parts, pause))
        started = time.monotonic()
        try:
            async with asyncio.timeout(15):
                while chunk := await loop.sock_recv(sock, 65536):
                    answer += chunk
        except (ConnectionError, TimeoutError):
            pass  # reset after its answer, or a kept-alive socket: the answer is what counts
        finally:
            sending.cancel()
    return answer, time.monotonic() - started


async def _send(sock: socket.socket, parts: tuple[bytes, ...], pause: float) -> None:
    try:
        for part in parts:
            await asyncio.get_running_loop().sock_sendall(sock, part)
            await asyncio.sleep(pause)
    except OSError:
        pass  # the server stopped reading


def request(head: str, body: bytes = b"") -> bytes:
    return f"{head}\r\nHost: api\r\nConnection: close\r\n\r\n".encode() + body


@pytest.mark.parametrize("padding", [20 * 1024, 1024 * 1024], ids=["20KiB", "1MiB"])
async def test_oversized_headers_are_refused_with_431(server, padding):
    """A header block past 16 KiB, in one read or many, is answered 431 and closed."""
    head = request(f"GET /health/live HTTP/1.1\r\nX-Padding: {'a' * padding}")
    answer, _ = await exchange(server, *[head[i : i + 8192] for i in range(0, len(head), 8192)])
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


async def test_headers_under_the_bound_are_served(server):
    """A 12 KiB header block on a kept-alive connection, twice, is served as usual."""
    head = request(f"GET /health/live HTTP/1.1\r\nX-Padding: {'a' * 12 * 1024}")
    keep_alive = head.replace(b"Connection: close", b"Connection: keep-alive")
    answer, _ = await exchange(server, keep_alive + head)
    assert answer.count(b"HTTP/1.1 200 OK") == 2, answer[:300]


async def test_slow_or_missing_headers_are_cut_off_after_10_s(server):
    """Headers still incomplete 10 s on get 408; a connection that sends nothing is closed."""
    head = request("GET /health/live HTTP/1.1")
    (partial, waited), (nothing, idle) = await asyncio.gather(
        exchange(server, head[:20]), exchange(server, b"")
    )
    assert partial.startswith(b"HTTP/1.1 408 "), partial[:200]
    assert nothing == b""
    assert 9.5 <= waited < 12 and 9.5 <= idle < 12, (waited, idle)


async def test_a_slow_body_is_cut_off_with_408(database_url):
    """A body still incomplete HTTP_READ_TIMEOUT_SECONDS after the request began: 408."""
    settings = make_settings(database_url, http_read_timeout_seconds=1.0)
    head = (
        "POST /graphql HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(QUERY)}\r\n\r\n"
    ).encode()
    async with serve(create_app(settings, owns_database=False)) as url:
        dribbled, waited = await exchange(url, head, *[bytes([b]) for b in QUERY], pause=0.2)
        prompt, _ = await exchange(url, head + QUERY[:10], QUERY[10:], pause=0.5)
    assert dribbled.startswith(b"HTTP/1.1 408 "), dribbled[:200]
    assert 1.0 <= waited < 3.0, waited
    assert prompt.startswith(b"HTTP/1.1 200 "), prompt[:200]


async def test_payments_serve_applies_the_bounds(settings):
    """`payments serve` itself answers 431 to huge headers and 408 to a stalled body."""
    env = {**settings_env(settings), "HTTP_READ_TIMEOUT_SECONDS": "1"}
    head = b"POST /graphql HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
    async with api_process(env) as api:
        huge, _ = await exchange(api.url, request(f"GET / HTTP/1.1\r\nX-Padding: {'a' * 65536}"))
        stalled, _ = await exchange(api.url, head + b"Content-Length: 100\r\n\r\n{")
    assert huge.startswith(b"HTTP/1.1 431 "), huge[:200]
    assert stalled.startswith(b"HTTP/1.1 408 "), stalled[:200]
