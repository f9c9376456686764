"""A test CA and PayPal signing certificates, and tiny hosts serving them (or refusing to)."""

import asyncio
import json
import ssl
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from payments.gateways.simulated.certificates import Authority, Issued

WEBHOOK_ID = "WH-TEST-4JH86294D6297924G"


@dataclass(frozen=True)
class PayPalPKI:
    """The trust anchor the service is given, and the certificates it signs."""

    authority: Authority
    # Serves the certificate host's TLS and signs webhooks, as PayPal's would.
    leaf: Issued
    ca_file: Path

    @classmethod
    def create(cls, folder: Path) -> "PayPalPKI":
        authority = Authority.create("Test PayPal CA")
        leaf = authority.issue("messageverificationcerts.test", hosts=("127.0.0.1", "localhost"))
        ca_file = folder / "paypal-test-ca.pem"
        ca_file.write_bytes(authority.certificate_pem)
        return cls(authority, leaf, ca_file)

    def server_tls(self, folder: Path) -> ssl.SSLContext:
        cert, key = folder / "host.pem", folder / "host.key"
        cert.write_bytes(self.leaf.certificate_pem)
        key.write_bytes(self.leaf.key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context


@dataclass
class CertificateHost:
    """An HTTP(S) server on loopback that counts every connection and request it gets."""

    tls: ssl.SSLContext | None = None
    files: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    connections: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    port: int = 0
    # Answer every request by dripping one byte of a long body every this many seconds.
    drip_seconds: float | None = None

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def publish(self, pem: bytes, status: int = 200) -> str:
        """Serve `pem` at a new path; its URL."""
        path = f"/v1/notifications/certs/CERT-{uuid.uuid4().hex[:12]}"
        self.files[path] = (status, pem)
        return self.origin + path

    @asynccontextmanager
    async def running(self) -> AsyncIterator["CertificateHost"]:
        server = await asyncio.start_server(self._answer, "127.0.0.1", 0, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            request_line = await reader.readline()
            while (await reader.readline()).strip():
                pass  # headers: nothing in them matters here
            path = request_line.split()[1].decode() if request_line.count(b" ") >= 2 else ""
            self.requests[path] += 1
            status, body = self.files.get(path, (404, b"not found"))
            if self.drip_seconds is not None:
                await self._drip(reader, writer, self.drip_seconds)
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass  # a client that gave up (or refused our TLS): counted all the same
        finally:
            writer.close()

    @staticmethod
    async def _drip(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seconds: float
    ) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 60000\r\n\r\n")
        while not reader.at_eof():  # until the client hangs up
            writer.write(b"-")
            await writer.drain()
            await asyncio.sleep(seconds)


def paypal_event(event_type: str = "CHECKOUT.ORDER.APPROVED", event_id: str | None = None) -> bytes:
    """A PayPal webhook event body shaped as PayPal's `event` (notifications_webhooks_v1)."""
    order_id = uuid.uuid4().hex[:17].upper()
    event: dict[str, Any] = {
        "id": event_id or f"WH-{uuid.uuid4().hex[:8].upper()}-{uuid.uuid4().hex[:16].upper()}",
        "event_version": "1.0",
        "create_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "resource_type": "checkout-order",
        "resource_version": "2.0",
        "event_type": event_type,
        "summary": "An order has been approved by buyer",
        "resource": {
            "id": order_id,
            "intent": "CAPTURE",
            "status": "APPROVED",
            "purchase_units": [
                {
                    "reference_id": "default",
                    "custom_id": "pay_test",
                    "amount": {"currency_code": "USD", "value": "10.00"},
                }
            ],
        },
        "links": [
            {
                "href": f"https://api.sandbox.paypal.com/v1/notifications/webhooks-events/{order_id}",
                "rel": "self",
                "method": "GET",
            }
        ],
    }
    return json.dumps(event).encode()
