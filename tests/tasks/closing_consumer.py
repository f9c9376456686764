"""A consumer on Python's http.server that closes each connection, run in a process of its own."""

import asyncio
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_printing = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    """Answers every POST 204 over HTTP/1.0 (BaseHTTPRequestHandler's default): one a connection."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {name.lower(): value for name, value in self.headers.items()}
        line = json.dumps({"headers": headers, "body": body.decode(), "at": time.time()})
        # Recorded before answering: the worker posts a payment's next version only after
        # this answer, so a line printed after it could follow the next version's line.
        with _printing:  # the handler threads share stdout: one whole line each
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a line per request on stderr would drown the test output


@asynccontextmanager
async def closing_consumer(take: Callable[[dict[str, Any]], None]) -> AsyncIterator[str]:
    """The consumer's process; `take` gets each request it took (headers, body, at); its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    port = int((await process.stdout.readline()).split()[1])
    reading = asyncio.create_task(_read(process.stdout, take))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()
        await reading


async def _read(lines: asyncio.StreamReader, take: Callable[[dict[str, Any]], None]) -> None:
    async for line in lines:
        take(json.loads(line))


if __name__ == "__main__":
    # What `python -m http.server` runs: a thread per connection, socketserver's backlog of 5.
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()
