"""A consumer on Python's http.server that closes each connection; prints each request it took."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_printing = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    """Answers every POST 204 over HTTP/1.0 (BaseHTTPRequestHandler's default): one a connection."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.send_response(204)
        self.end_headers()
        headers = {name.lower(): value for name, value in self.headers.items()}
        line = json.dumps({"headers": headers, "body": body.decode(), "at": time.monotonic()})
        with _printing:  # the handler threads share stdout: one whole line each
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a line per request on stderr would drown the test output


if __name__ == "__main__":
    # What `python -m http.server` runs: a thread per connection, socketserver's backlog of 5.
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()
