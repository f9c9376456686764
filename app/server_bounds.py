"""What a client can make uvicorn hold before the app sees it: header and WebSocket bounds."""

from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from graph.live.transport import MAX_MESSAGE_BYTES

# h11's own default; uvicorn's httptools protocol, the faster one it picks, has no bound.
MAX_HEADER_BYTES = 16 * 1024
HEADERS_END = b"\r\n\r\n"


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering 431 once a request's headers pass a bound.

    The bound is uvicorn's `h11_max_incomplete_event_size`, so both HTTP implementations
    read the same option. Header bytes are counted as they arrive, before the parser
    buffers them, up to the blank line that ends them.
    """

    header_bytes = 0
    reading_headers = True
    tail = b""  # the last bytes read, for a blank line split across two reads

    def data_received(self, data: bytes) -> None:
        if self.reading_headers:
            self.header_bytes += self._header_part(data)
            self.tail = (self.tail + data[-3:])[-3:]
            if self.header_bytes > (self.config.h11_max_incomplete_event_size or MAX_HEADER_BYTES):
                return self._refuse_headers()
        super().data_received(data)

    def _header_part(self, data: bytes) -> int:
        joint = (self.tail + data[:3]).find(HEADERS_END)
        if joint >= 0:
            return joint + len(HEADERS_END) - len(self.tail)
        end = data.find(HEADERS_END)
        return len(data) if end < 0 else end + len(HEADERS_END)

    def on_headers_complete(self) -> None:
        self.reading_headers, self.header_bytes, self.tail = False, 0, b""
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.reading_headers = True
        super().on_message_complete()

    def _refuse_headers(self) -> None:
        message = b"Request header fields too large."
        self.logger.warning("Request header fields too large.")
        self.transport.write(
            STATUS_LINE[431]
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
