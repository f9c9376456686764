"""What a client can make uvicorn hold before the app sees it: header and WebSocket bounds."""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from graph.live.transport import MAX_MESSAGE_BYTES

# h11's own default; uvicorn's httptools protocol, the faster one it picks, has no bound.
MAX_HEADER_BYTES = 16 * 1024
# uvicorn waits for a request's headers for ever, on a new connection as on a kept-alive
# one (its keep-alive timeout stops at the first byte): a slow client held a socket for good.
HEADER_TIMEOUT_SECONDS = 10.0
HEADERS_END = b"\r\n\r\n"


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a bound on each request's headers: size and time.

    Past `h11_max_incomplete_event_size` bytes (uvicorn's option, so that both HTTP
    implementations read the same one) the answer is 431; headers still incomplete
    HEADER_TIMEOUT_SECONDS after the connection opened, or after the next request's first
    byte, are answered 408 (a connection that sent nothing is just closed). Either way
    the connection is closed. Header bytes are counted as they arrive, before the parser
    buffers them, up to the blank line that ends them.
    """

    header_bytes = 0
    reading_headers = True
    tail = b""  # the last bytes read, for a blank line split across two reads
    header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.reading_headers:
            self._start_header_timer()
            self.header_bytes += self._header_part(data)
            self.tail = (self.tail + data[-3:])[-3:]
            if self.header_bytes > (self.config.h11_max_incomplete_event_size or MAX_HEADER_BYTES):
                return self._refuse(431, b"Request header fields too large.")
        super().data_received(data)

    def _header_part(self, data: bytes) -> int:
        joint = (self.tail + data[:3]).find(HEADERS_END)
        if joint >= 0:
            return joint + len(HEADERS_END) - len(self.tail)
        end = data.find(HEADERS_END)
        return len(data) if end < 0 else end + len(HEADERS_END)

    def on_headers_complete(self) -> None:
        self.reading_headers, self.header_bytes, self.tail = False, 0, b""
        self._stop_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.reading_headers = True
        super().on_message_complete()

    def _start_header_timer(self) -> None:
        if self.header_timer is None:
            self.header_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._headers_late)

    def _stop_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_late(self) -> None:
        self.header_timer = None
        # A client may send its next request while the last one's answer is on its way.
        if self.cycle is not None and not self.cycle.response_complete:
            return
        if self.header_bytes:
            self._refuse(408, b"Request headers not received in time.")
        else:
            self.transport.close()  # nothing asked, nothing to answer (a browser's preconnect)

    def _refuse(self, status: int, message: bytes) -> None:
        self.logger.warning(message.decode())
        self.transport.write(
            STATUS_LINE[status]
            + b"content-type: text/plain; charset=utf-8\r\n"
            + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(message)
            + message
        )
        self.transport.close()


# Options for `uvicorn.run` / `uvicorn.Config` that every way of serving the API passes; the
# protocol is named by its import path so that `--workers` processes can load it too.
UVICORN_BOUNDS: dict[str, Any] = {
    "http": f"{__name__}:{BoundedHttpToolsProtocol.__name__}",
    "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    "ws_max_size": MAX_MESSAGE_BYTES,
}
