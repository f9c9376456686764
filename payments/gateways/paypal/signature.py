"""PayPal webhook signatures checked offline: CRC32 and SHA256withRSA, trusted certificates."""

import asyncio
import base64
import binascii
import ipaddress
import ssl
import time
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import httpx
import structlog
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from payments.shared.signatures import paypal_signed_message

log = structlog.get_logger(__name__)

AUTH_ALGORITHM = "SHA256withRSA"
# Header values longer than these are no PayPal transmission (a real one is far shorter).
MAX_HEADER_CHARS = 2048
# A PEM chain of a leaf and two intermediates is ~6 KiB; anything past this is not one.
MAX_CERTIFICATE_BYTES = 64 * 1024
FETCH_TIMEOUT_SECONDS = 5.0
# Bounds on what one process keeps and fetches, whatever URLs strangers send: a few
# certificates are live at PayPal at once (one per signing key, rotated yearly).
CACHE_ENTRIES = 32
FETCHES_PER_WINDOW = 10
FETCH_WINDOW_SECONDS = 60.0
# A refused or unreachable certificate is not asked for again before this.
FAILURE_TTL = timedelta(minutes=10)
# An unreachable URL never trusted before is refused this long (then asked again).
UNREACHABLE_TTL = timedelta(minutes=1)
# A certificate is re-fetched at least this often, so a revoked one does not live forever.
CERTIFICATE_TTL = timedelta(hours=24)
MAX_CHAIN_DEPTH = 4
PAYPAL_CERTIFICATE_PATH = "/v1/notifications/certs/"
PEM_BEGIN, PEM_END = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"


class SignatureRefused(Exception):
    """The delivery is not PayPal's: headers missing, certificate refused, signature wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CertificateUnavailable(Exception):
    """An allowed certificate could not be had now (network, fetch budget): PayPal retries."""


@dataclass(frozen=True)
class Transmission:
    """The signature headers of one PayPal webhook delivery."""

    transmission_id: str
    transmission_time: str
    cert_url: str
    signature: bytes

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> "Transmission":
        """The transmission's headers, or SignatureRefused when one is missing or malformed."""
        values = {
            name: headers.get(f"paypal-{name}", "")
            for name in ("transmission-id", "transmission-time", "cert-url", "transmission-sig")
        }
        if not all(0 < len(value) <= MAX_HEADER_CHARS for value in values.values()):
            raise SignatureRefused("missing_headers")
        algorithm = headers.get("paypal-auth-algo")
        if algorithm is not None and algorithm != AUTH_ALGORITHM:
            raise SignatureRefused("unsupported_algorithm")
        try:
            signature = base64.b64decode(values["transmission-sig"], validate=True)
        except (binascii.Error, ValueError):
            raise SignatureRefused("malformed_signature") from None
        return cls(
            values["transmission-id"], values["transmission-time"], values["cert-url"], signature
        )


def certificate_url_allowed(url: str, listed_hosts: frozenset[str]) -> bool:
    """Whether `url` is https on a `paypal.com` or listed host, or http on a listed loopback one.

    Judged on the URL alone, before any connection: a URL refused here is never fetched.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None:
        return False
    # `host`, `host:port`, and for IPv6 `[host]` or `[host]:port`, as an operator writes them.
    named = f"[{host}]" if ":" in host else host
    listed = bool({named, f"{named}:{port}"} & listed_hosts)
    if parts.scheme == "https":
        paypal = (
            (host == "paypal.com" or host.endswith(".paypal.com"))
            and port in (None, 443)
            # Where PayPal serves its webhook certificates: no other page of its hosts.
            and parts.path.startswith(PAYPAL_CERTIFICATE_PATH)
        )
        return paypal or listed
    return parts.scheme == "http" and listed and _is_loopback(host)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class _Cached:
    key: rsa.RSAPublicKey | None  # None: refused or unreachable, remembered for a while
    until: datetime
    # When the certificate itself expires (trusted ones): kept past `until` while a
    # re-fetch is unavailable, so strangers spending the fetch budget lock nobody out.
    expires: datetime | None = None
    # Not reached (network), rather than refused: answered as unavailable, PayPal retries.
    unreachable: bool = False


class WebhookVerifier:
    """Checks PayPal's signature on a raw body before anything parses it.

    Certificates come from allowed URLs only, over a TLS connection checked against the
    trust anchors, and their chain is checked against the same anchors. They are kept in a
    bounded cache; new fetches are serialised and limited per window, so a stranger
    naming ever new certificate URLs costs a bounded number of requests and bytes.
    """

    def __init__(
        self,
        webhook_id: str,
        listed_hosts: frozenset[str],
        anchors: Sequence[x509.Certificate],
        tls: ssl.SSLContext,
        *,
        known: Mapping[str, bytes] | None = None,
    ) -> None:
        self.webhook_id = webhook_id
        self.listed_hosts = listed_hosts
        self._store = Store(list(anchors))
        self._tls = tls
        # Trusted certificates and failed URLs apart: strangers' URLs fill only the second.
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._failed: OrderedDict[str, _Cached] = OrderedDict()
        # Certificates held without a fetch (the development one), still chain-checked.
        self._known = {url: self._checked_key(pem)[0] for url, pem in (known or {}).items()}
        self._fetching = asyncio.Lock()
        self._fetch_times: list[float] = []

    @property
    def cached_certificates(self) -> int:
        """How many certificate URLs (trusted or refused) this process remembers."""
        return len(self._cache) + len(self._failed)

    async def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Return when PayPal signed `body` for our webhook; raise SignatureRefused if not.

        CertificateUnavailable when an allowed certificate cannot be fetched right now.
        """
        transmission = Transmission.from_headers(headers)
        key = await self._key_for(transmission.cert_url)
        message = paypal_signed_message(
            transmission.transmission_id, transmission.transmission_time, self.webhook_id, body
        )
        try:
            key.verify(transmission.signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise SignatureRefused("bad_signature") from None

    async def _key_for(self, url: str) -> rsa.RSAPublicKey:
        if url in self._known:
            return self._known[url]
        if not certificate_url_allowed(url, self.listed_hosts):
            raise SignatureRefused("certificate_host_not_allowed")
        cached = self._cached(url)
        if cached is None:
            async with self._fetching:  # one fetch at a time; a waiter may find it cached
                cached = self._cached(url) or await self._refreshed(url)
        if cached.key is None:
            if cached.unreachable:
                raise CertificateUnavailable(url)
            raise SignatureRefused("certificate_refused")
        return cached.key

    def _cached(self, url: str) -> _Cached | None:
        now = datetime.now(UTC)
        for cache in (self._cache, self._failed):
            entry = cache.get(url)
            if entry is not None and entry.until > now:
                cache.move_to_end(url)
                return entry
        return None

    async def _refreshed(self, url: str) -> _Cached:
        try:
            return await self._fetch_and_check(url)
        except CertificateUnavailable:
            stale = self._cache.get(url)
            if stale is not None and stale.expires and stale.expires > datetime.now(UTC):
                return stale  # the certificate is still valid; re-fetched once we can
            raise

    async def _fetch_and_check(self, url: str) -> _Cached:
        self._spend_fetch()
        now = datetime.now(UTC)
        try:
            # The whole fetch, not each read: a host dripping bytes cannot hold the queue.
            async with asyncio.timeout(FETCH_TIMEOUT_SECONDS):
                pem = await self._download(url)
            key, expires = self._checked_key(pem)
        except (httpx.TransportError, TimeoutError) as error:
            log.warning("paypal_certificate_unreachable", url=url, error=repr(error))
            if url not in self._cache:
                # Not asked again at once: a repeated unreachable URL would spend the budget.
                self._remember_failure(url, _Cached(None, now + UNREACHABLE_TTL, unreachable=True))
            raise CertificateUnavailable(url) from None
        except (SignatureRefused, httpx.HTTPError, httpx.InvalidURL) as refused:
            # A URL httpx cannot use, a 404, a body no certificate: asking again changes nothing.
            log.warning("paypal_certificate_refused", url=url, reason=str(refused))
            return self._remember_failure(url, _Cached(None, now + FAILURE_TTL))
        return self._remember(url, _Cached(key, min(expires, now + CERTIFICATE_TTL), expires))

    def _spend_fetch(self) -> None:
        now = time.monotonic()
        self._fetch_times = [t for t in self._fetch_times if now - t < FETCH_WINDOW_SECONDS]
        if len(self._fetch_times) >= FETCHES_PER_WINDOW:
            raise CertificateUnavailable("certificate fetch budget spent")
        self._fetch_times.append(now)

    def _remember(self, url: str, entry: _Cached) -> _Cached:
        return _bounded_put(self._cache, url, entry)

    def _remember_failure(self, url: str, entry: _Cached) -> _Cached:
        return _bounded_put(self._failed, url, entry)

    async def _download(self, url: str) -> bytes:
        # No redirects: a redirect could lead anywhere, past the host check.
        async with (
            httpx.AsyncClient(
                verify=self._tls, timeout=FETCH_TIMEOUT_SECONDS, trust_env=False
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise SignatureRefused(f"certificate_http_{response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_CERTIFICATE_BYTES:
                    raise SignatureRefused("certificate_too_large")
            return bytes(body)

    def _checked_key(self, pem: bytes) -> tuple[rsa.RSAPublicKey, datetime]:
        """The leaf's RSA key and its expiry, once its chain leads to a trust anchor now."""
        try:
            leaf, *intermediates = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise SignatureRefused("certificate_unreadable") from None
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .max_chain_depth(MAX_CHAIN_DEPTH)
            # A signing certificate need not name a host or carry a TLS key usage.
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, intermediates)
        except VerificationError:
            raise SignatureRefused("certificate_untrusted") from None
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureRefused("certificate_not_rsa")
        return key, leaf.not_valid_after_utc


def trust_anchors(ca_file: Path | None) -> tuple[list[x509.Certificate], ssl.SSLContext]:
    """The anchors for certificate chains and the TLS context for fetching them.

    PAYPAL_CERT_CA_FILE when set (both uses), else the system's bundle.
    """
    path = ca_file or _system_bundle()
    anchors = [
        anchor
        for block in path.read_bytes().split(PEM_END)
        if PEM_BEGIN in block
        for anchor in _readable(block + PEM_END)
    ]
    return anchors, ssl.create_default_context(cafile=str(path))


def _system_bundle() -> Path:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return Path(certifi.where())


def _readable(pem: bytes) -> list[x509.Certificate]:
    # A system bundle may hold a certificate cryptography cannot read: it anchors nothing here.
    with warnings.catch_warnings():
        # Old roots with non-positive serial numbers: still anchors, and PayPal's is not one.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            return [x509.load_pem_x509_certificate(pem)]
        except ValueError:
            return []


def _bounded_put(cache: OrderedDict[str, _Cached], url: str, entry: _Cached) -> _Cached:
    cache[url] = entry
    cache.move_to_end(url)
    while len(cache) > CACHE_ENTRIES:
        cache.popitem(last=False)
    return entry
