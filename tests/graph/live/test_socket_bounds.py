"""WebSocket bounds before authentication, tried as an attacker would on real servers."""

import asyncio
import contextlib
import json
import socket
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urlsplit

import pytest
import websockets

from tests.conftest import settings_env
from tests.graph.live.client import ws_url
from tests.processes import api_process
from tests.support import new_subject, token

MIB = 1024 * 1024
HANDSHAKE = (
    "GET /graphql HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: graphql-transport-ws\r\n{extensions}\r\n"
)
DEFLATE = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
TEXT, CONTINUATION, FINAL, COMPRESSED = 0x1, 0x0, 0x80, 0x40
INIT_PREFIX, INIT_SUFFIX = b'{"type":"connection_init","payload":{"pad":"', b'"}}'
PADDING = b"x" * (256 * 1024)


def rss_bytes(pid: int) -> int:
    """The resident memory of process `pid`."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


@asynccontextmanager
async def peak_rss_growth(pid: int) -> AsyncIterator[list[int]]:
    """Samples `pid`'s RSS every 10 ms; on exit the list holds the peak growth in bytes."""
    baseline, peak, done = rss_bytes(pid), [0], asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes(pid) - baseline)
            await asyncio.sleep(0.01)

    sampling = asyncio.create_task(sample())
    try:
        yield peak
    finally:
        done.set()
        await sampling
        peak[0] = max(peak[0], rss_bytes(pid) - baseline)


@asynccontextmanager
async def raw_socket(base_url: str, extensions: str = "") -> AsyncIterator[socket.socket]:
    """A WebSocket opened by hand, with plain socket calls.

    No client library buffers what is sent, and a send the server refuses (it stopped
    reading) does not discard the close frame it wrote before, as a stream would.
    """
    address = urlsplit(base_url)
    loop = asyncio.get_running_loop()
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.setblocking(False)
        handshake = HANDSHAKE.format(host=address.netloc, extensions=extensions)
        await loop.sock_sendall(sock, handshake.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += await asyncio.wait_for(loop.sock_recv(sock, 1), 30)
        assert response.startswith(b"HTTP/1.1 101"), response
        yield sock


async def receive_exactly(sock: socket.socket, size: int, wait: float = 30) -> bytes:
    """`size` bytes from `sock`, or TimeoutError after `wait` seconds."""
    loop, received = asyncio.get_running_loop(), b""
    async with asyncio.timeout(wait):
        while len(received) < size:
            chunk = await loop.sock_recv(sock, size - len(received))
            if not chunk:
                raise ConnectionError("closed without a close frame")
            received += chunk
    return received


def frame_header(size: int, first: int = FINAL | TEXT) -> bytes:
    """A frame header (a final text frame unless told), masked with a zero key (sent as is)."""
    if size < 126:
        return bytes([first, 0x80 | size]) + bytes(4)
    if size < 1 << 16:
        return bytes([first, 0x80 | 126]) + size.to_bytes(2, "big") + bytes(4)
    return bytes([first, 0x80 | 127]) + size.to_bytes(8, "big") + bytes(4)


async def read_frame(sock: socket.socket, wait: float = 30) -> tuple[int, bytes]:
    """The opcode and payload of the next (short, unmasked) frame from the server."""
    header = await receive_exactly(sock, 2, wait)
    return header[0] & 0x0F, await receive_exactly(sock, header[1] & 0x7F)


async def close_code(sock: socket.socket, wait: float = 30) -> int:
    """The code of the close frame the server sends (it sends nothing before it)."""
    opcode, payload = await read_frame(sock, wait)
    assert opcode == 0x8, (opcode, payload)
    return int.from_bytes(payload[:2], "big")


async def send_connection_init(sock: socket.socket, size: int) -> None:
    """A connection_init message of `size` bytes, streamed until the server stops reading."""
    loop, padding = asyncio.get_running_loop(), size - len(INIT_PREFIX) - len(INIT_SUFFIX)
    try:
        await loop.sock_sendall(sock, frame_header(size) + INIT_PREFIX)
        while padding > 0:
            await loop.sock_sendall(sock, PADDING[:padding])
            padding -= len(PADDING)
        await loop.sock_sendall(sock, INIT_SUFFIX)
    except OSError:
        pass  # closed by the server mid-message: what a bound should do


async def oversized_init(base_url: str, size: int) -> int:
    """The close code a socket gets for a connection_init of `size` bytes."""
    async with raw_socket(base_url) as sock:
        sending = asyncio.create_task(send_connection_init(sock, size))
        try:
            return await close_code(sock)
        finally:
            sending.cancel()


async def still_open(sock: socket.socket) -> bool:
    """Whether the server has neither closed nor written anything within half a second."""
    try:
        await receive_exactly(sock, 1, 0.5)
    except TimeoutError:
        return True
    return False


async def test_oversized_messages_before_authentication_close_with_1009(settings):
    """Forty 15 MiB and forty 65 KiB connection_init frames: all closed with 1009, RSS flat."""
    async with api_process(settings_env(settings)) as api:
        assert await oversized_init(api.url, 1024) == 4403  # imports done before measuring
        async with peak_rss_growth(api.process.pid) as growth:
            sizes = [15 * MIB] * 40 + [65 * 1024] * 40
            codes = await asyncio.gather(*(oversized_init(api.url, size) for size in sizes))
    print(f"80 oversized connection_init frames: peak RSS +{growth[0] / MIB:.1f} MiB")
    assert codes == [1009] * 80
    assert growth[0] < 8 * MIB


async def test_the_bound_is_on_whole_messages_fragmented_or_deflated(server):
    """Three 40 KiB fragments, or 15 MiB deflated to a few KiB: closed with 1009 all the same."""
    loop, fragment = asyncio.get_running_loop(), b"x" * 40 * 1024
    async with raw_socket(server) as sock:
        with contextlib.suppress(OSError):
            for first, payload in [
                (TEXT, INIT_PREFIX + fragment),
                (CONTINUATION, fragment),
                (FINAL | CONTINUATION, fragment + INIT_SUFFIX),
            ]:
                await loop.sock_sendall(sock, frame_header(len(payload), first) + payload)
        fragmented = await close_code(sock)
    deflate = zlib.compressobj(wbits=-15)
    bomb = deflate.compress(INIT_PREFIX + b"x" * 15 * MIB + INIT_SUFFIX)
    bomb = (bomb + deflate.flush(zlib.Z_SYNC_FLUSH))[:-4]  # RFC 7692 drops the 00 00 ff ff
    async with raw_socket(server, DEFLATE) as sock:
        with contextlib.suppress(OSError):
            await loop.sock_sendall(sock, frame_header(len(bomb), FINAL | COMPRESSED | TEXT) + bomb)
        deflated = await close_code(sock)
    assert len(bomb) < 64 * 1024
    assert (fragmented, deflated) == (1009, 1009)


async def test_a_socket_that_sends_no_connection_init_is_closed_with_4408(server):
    """graphql-transport-ws: no connection_init within 5 s closes the socket with 4408."""
    async with websockets.connect(ws_url(server), subprotocols=["graphql-transport-ws"]) as ws:
        opened = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 15)
        waited = time.monotonic() - opened
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
    assert 4.5 <= waited <= 7.5, waited


async def test_sockets_not_yet_authenticated_are_capped_per_process(settings):
    """Past the cap a new socket is closed at once with 1013; authenticating frees a place."""
    cap = 24
    env = {**settings_env(settings), "LIVE_MAX_UNAUTHENTICATED_CONNECTIONS": str(cap)}
    async with api_process(env) as api, AsyncExitStack() as sockets:
        assert await oversized_init(api.url, 1024) == 4403  # imports done before measuring
        async with peak_rss_growth(api.process.pid) as growth:
            held = [await sockets.enter_async_context(raw_socket(api.url)) for _ in range(cap)]
        extra = [await sockets.enter_async_context(raw_socket(api.url)) for _ in range(5)]
        refused = [await close_code(sock) for sock in extra]
        open_ones = await asyncio.gather(*(still_open(sock) for sock in held))
        init = {
            "type": "connection_init",
            "payload": {"Authorization": f"Bearer {token(new_subject())}"},
        }
        message = json.dumps(init).encode()
        await asyncio.get_running_loop().sock_sendall(held[0], frame_header(len(message)) + message)
        acknowledged = json.loads((await read_frame(held[0]))[1])
        newcomer = await sockets.enter_async_context(raw_socket(api.url))
        newcomer_admitted = await still_open(newcomer)
    print(f"{cap} unauthenticated sockets: peak RSS +{growth[0] / MIB:.1f} MiB")
    assert refused == [1013] * 5
    assert open_ones == [True] * cap
    assert acknowledged == {"type": "connection_ack"}
    assert newcomer_admitted


async def test_many_idle_sockets_hold_bounded_memory(settings):
    """1,500 sockets that never authenticate: past the default cap of 256 they are refused."""
    async with api_process(settings_env(settings)) as api:
        assert await oversized_init(api.url, 1024) == 4403  # imports done before measuring
        opening = asyncio.Semaphore(100)

        async def idle_socket() -> int:
            async with AsyncExitStack() as stack:
                async with opening:
                    sock = await stack.enter_async_context(raw_socket(api.url))
                return await close_code(sock)

        async with peak_rss_growth(api.process.pid) as growth:
            codes = await asyncio.gather(*(idle_socket() for _ in range(1_500)))
    held, refused = codes.count(4408), codes.count(1013)
    print(
        f"1,500 idle sockets: {held} held until 4408, {refused} refused with 1013; "
        f"peak RSS +{growth[0] / MIB:.1f} MiB"
    )
    assert held + refused == 1_500
    assert refused > 0
    assert growth[0] < 40 * MIB
