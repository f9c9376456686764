"""POST /webhooks/paypal over real HTTP: PayPal's signature checked offline before parsing.

The certificates are made here (a test CA and a leaf) and served over HTTPS by a loopback
host listed in PAYPAL_CERT_HOSTS; every attack is sent as an attacker would send it, and
what it costs is measured: rows stored, connections and requests reaching certificate hosts.
"""

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.factory import create_app
from models.inbox import WebhookEvent
from payments.gateways.paypal import signature
from payments.gateways.paypal.signature import (
    CACHE_ENTRIES,
    FETCHES_PER_WINDOW,
    CertificateUnavailable,
    SignatureRefused,
    WebhookVerifier,
    certificate_url_allowed,
)
from payments.gateways.simulated.certificates import Authority, Issued
from payments.shared.settings import Settings
from tests.conftest import make_settings
from tests.support import serve
from tests.webhooks.factories import signed_headers
from tests.webhooks.paypal_certificates import WEBHOOK_ID, CertificateHost, PayPalPKI, paypal_event

MIB = 1024 * 1024


@dataclass
class Setting:
    """The API configured for PayPal, and the hosts and certificates it is tested with."""

    pki: PayPalPKI
    # Listed in PAYPAL_CERT_HOSTS: PayPal's certificates come from here.
    allowed: CertificateHost
    # Not listed: serves a certificate the CA did sign, so only the host check stops it.
    forbidden: CertificateHost
    # A trusted certificate published on the allowed host.
    cert_url: str
    settings: Settings
    http: httpx.AsyncClient

    def signed(
        self,
        body: bytes,
        cert_url: str | None = None,
        signer: Issued | None = None,
        webhook_id: str = WEBHOOK_ID,
    ) -> dict[str, str]:
        signing = signer or self.pki.leaf
        return signing.sign_paypal_webhook(body, cert_url or self.cert_url, webhook_id)

    async def post(self, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        return await self.http.post("/webhooks/paypal", content=body, headers=dict(headers))

    async def deliver(self, body: bytes) -> httpx.Response:
        return await self.post(body, self.signed(body))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PayPalPKI:
    return PayPalPKI.create(tmp_path_factory.mktemp("paypal-pki"))


@pytest.fixture(scope="module")
def host_tls(pki: PayPalPKI, tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    return pki.server_tls(tmp_path_factory.mktemp("paypal-host"))


@asynccontextmanager
async def paypal_api(
    database_url: str, pki: PayPalPKI, host_tls: ssl.SSLContext
) -> AsyncIterator[Setting]:
    """A fresh API (so a fresh certificate cache) with its certificate hosts running."""
    async with (
        CertificateHost(host_tls).running() as allowed,
        CertificateHost(host_tls).running() as forbidden,
    ):
        settings = make_settings(
            database_url,
            paypal_cert_hosts=f"127.0.0.1:{allowed.port}",
            paypal_cert_ca_file=str(pki.ca_file),
            paypal_webhook_id=WEBHOOK_ID,
        )
        app = create_app(settings, owns_database=False)
        async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            cert_url = allowed.publish(pki.leaf.certificate_pem)
            yield Setting(pki, allowed, forbidden, cert_url, settings, http)


@pytest.fixture(scope="module")
async def api(
    database_url: str, pki: PayPalPKI, host_tls: ssl.SSLContext
) -> AsyncIterator[Setting]:
    async with paypal_api(database_url, pki, host_tls) as setting:
        yield setting


async def _stored(*event_ids: str) -> int:
    return await WebhookEvent.filter(provider="paypal", event_id__in=event_ids).count()


def _event_id(body: bytes) -> str:
    return str(json.loads(body)["id"])


async def test_valid_event_is_stored_verbatim_once(api: Setting) -> None:
    """A correctly signed event: 200 {"received": true}, one row kept byte for byte."""
    body = paypal_event()
    response = await api.deliver(body)
    assert (response.status_code, response.json()) == (200, {"received": True})
    row = await WebhookEvent.get(provider="paypal", event_id=_event_id(body))
    assert (row.type, row.payload) == ("CHECKOUT.ORDER.APPROVED", body.decode())
    assert row.provider_created_at is not None


async def test_concurrent_duplicates_store_one_row_and_fetch_the_certificate_once(
    api: Setting,
) -> None:
    """Twenty deliveries of one event at once, each signed anew: all 200, one row.

    They name a certificate not seen before: the certificate host is asked once.
    """
    cert_url = api.allowed.publish(api.pki.leaf.certificate_pem)
    body = paypal_event()
    responses = await asyncio.gather(
        *(api.post(body, api.signed(body, cert_url)) for _ in range(20))
    )
    assert {response.status_code for response in responses} == {200}
    assert await _stored(_event_id(body)) == 1
    assert api.allowed.requests[cert_url.removeprefix(api.allowed.origin)] == 1


async def test_same_event_id_from_stripe_and_paypal_is_two_events(api: Setting) -> None:
    """One id, two providers: two rows, one per provider."""
    body = paypal_event()
    event_id = _event_id(body)
    stripe_body = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "customer.created",
            "created": 1_700_000_000,
            "data": {"object": {"id": "cus_x"}},
        }
    ).encode()
    assert (
        await api.http.post(
            "/webhooks/stripe", content=stripe_body, headers=signed_headers(stripe_body)
        )
    ).status_code == 200
    assert (await api.deliver(body)).status_code == 200
    rows = await WebhookEvent.filter(event_id=event_id).values_list("provider", flat=True)
    assert sorted(rows) == ["paypal", "stripe"]


Attack = Callable[[Setting, bytes], tuple[bytes, dict[str, str]]]


def _changed_body(api: Setting, body: bytes) -> tuple[bytes, dict[str, str]]:
    # Still valid JSON naming the same event: only the signature (its CRC32) can tell.
    return body.replace(b"10.00", b"99.00"), api.signed(body)


def _reserialized(api: Setting, body: bytes) -> tuple[bytes, dict[str, str]]:
    return json.dumps(json.loads(body), indent=2).encode(), api.signed(body)


def _without(header: str) -> Attack:
    def attack(api: Setting, body: bytes) -> tuple[bytes, dict[str, str]]:
        headers = api.signed(body)
        del headers[header]
        return body, headers

    return attack


def _replaced(header: str, value: str) -> Attack:
    return lambda api, body: (body, {**api.signed(body), header: value})


def _untrusted_certificate(api: Setting, body: bytes) -> tuple[bytes, dict[str, str]]:
    # A CA of the attacker's: the certificate is served by the allowed host, yet untrusted.
    stranger = Authority.create("Attacker CA").issue("messageverificationcerts.test")
    return body, api.signed(body, api.allowed.publish(stranger.certificate_pem), stranger)


def _expired_certificate(api: Setting, body: bytes) -> tuple[bytes, dict[str, str]]:
    expired = api.pki.authority.issue("old", valid_for=timedelta(seconds=-1))
    return body, api.signed(body, api.allowed.publish(expired.certificate_pem), expired)


def _published(pem: bytes, status: int = 200) -> Attack:
    return lambda api, body: (body, api.signed(body, api.allowed.publish(pem, status)))


def _other_key(api: Setting, body: bytes) -> tuple[bytes, dict[str, str]]:
    # Names the trusted certificate, signs with a key that is not its.
    return body, api.signed(body, signer=api.pki.authority.issue("other"))


ATTACKS: dict[str, Attack] = {
    "changed body": _changed_body,
    "re-serialized JSON": _reserialized,
    "signed for another webhook id": lambda api, body: (
        body,
        api.signed(body, webhook_id="WH-SOMEONE-ELSES"),
    ),
    "signed with a key not the certificate's": _other_key,
    "certificate from an untrusted CA": _untrusted_certificate,
    "expired certificate": _expired_certificate,
    "certificate URL answers 404": _published(b"", 404),
    "certificate URL serves no certificate": _published(b"<html>hello</html>"),
    "certificate over the size bound": lambda api, body: (
        body,
        api.signed(body, api.allowed.publish(api.pki.leaf.certificate_pem * 60)),
    ),
    "no transmission id": _without("PAYPAL-TRANSMISSION-ID"),
    "no transmission time": _without("PAYPAL-TRANSMISSION-TIME"),
    "no signature": _without("PAYPAL-TRANSMISSION-SIG"),
    "no certificate URL": _without("PAYPAL-CERT-URL"),
    "another algorithm": _replaced("PAYPAL-AUTH-ALGO", "SHA1withRSA"),
    "signature not base64": _replaced("PAYPAL-TRANSMISSION-SIG", "not base64 at all!"),
    "signature of random bytes": _replaced("PAYPAL-TRANSMISSION-SIG", "QUJD" * 86),
    "transmission time changed": _replaced("PAYPAL-TRANSMISSION-TIME", "2020-01-01T00:00:00Z"),
}


@pytest.mark.parametrize("case", list(ATTACKS))
async def test_forged_or_malformed_deliveries_are_400_and_store_nothing(
    api: Setting, case: str
) -> None:
    """Each forgery is a 400 bad_signature, and no row exists for its event id."""
    body = paypal_event()
    content, headers = ATTACKS[case](api, body)
    response = await api.post(content, headers)
    assert (response.status_code, response.json()["error"]) == (400, "bad_signature")
    assert await _stored(_event_id(body)) == 0


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"id": "WH-X"}', b'{"id": 7, "event_type": "X"}', b"\xff\xfe"],
    ids=["not-json", "list", "no-event-type", "numeric-id", "not-utf8"],
)
async def test_signed_but_invalid_event_is_400_and_stored_nothing(
    api: Setting, body: bytes
) -> None:
    """A correctly signed body that is no PayPal event: 400 invalid_event, nothing stored."""
    before = await WebhookEvent.filter(provider="paypal").count()
    response = await api.deliver(body)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_event")
    assert await WebhookEvent.filter(provider="paypal").count() == before


FORBIDDEN_URLS = {
    "https, loopback, port not listed": "https://127.0.0.1:{port}/cert",
    "plain http, port not listed": "http://127.0.0.1:{port}/cert",
    "localhost, port not listed": "https://localhost:{port}/cert",
    "paypal.com in the user part": "https://api.paypal.com@127.0.0.1:{port}/cert",
    "paypal.com in the query": "https://127.0.0.1:{port}/cert?h=api.paypal.com",
    "paypal.com in the fragment": "https://127.0.0.1:{port}/cert#.paypal.com",
}


@pytest.mark.parametrize("case", list(FORBIDDEN_URLS))
async def test_certificate_on_a_host_not_allowed_is_never_fetched(api: Setting, case: str) -> None:
    """A certificate on a host not allowed: 400, nothing stored, zero connections there.

    The webhook is signed by the trusted leaf, and the host would serve its certificate
    over TLS the CA signed: only the host rule stops it, before any connection.
    """
    url = FORBIDDEN_URLS[case].format(port=api.forbidden.port)
    api.forbidden.files[url.split(str(api.forbidden.port), 1)[1].split("?")[0].split("#")[0]] = (
        200,
        api.pki.leaf.certificate_pem,
    )
    body = paypal_event()
    response = await api.post(body, api.signed(body, url))
    assert response.status_code == 400
    assert await _stored(_event_id(body)) == 0
    assert api.forbidden.connections == 0


async def test_body_over_one_mib_is_413_and_no_certificate_is_fetched(api: Setting) -> None:
    """An oversized body is refused before its signature is looked at."""
    cert_url = api.allowed.publish(api.pki.leaf.certificate_pem)
    body = paypal_event().replace(b'"summary": "', b'"summary": "' + b"x" * MIB)
    response = await api.post(body, api.signed(body, cert_url))
    assert response.status_code == 413
    assert await _stored(_event_id(body)) == 0
    assert api.allowed.requests[cert_url.removeprefix(api.allowed.origin)] == 0


async def test_a_flood_of_new_certificate_urls_costs_a_bounded_number_of_fetches(
    database_url: str, pki: PayPalPKI, host_tls: ssl.SSLContext
) -> None:
    """Sixty deliveries naming new certificate URLs on the allowed host: bounded fetches.

    None is stored, FETCHES_PER_WINDOW connections reach the host; past that budget the
    answer is 503 (PayPal delivers again later), and the cached certificate still works.
    """
    async with paypal_api(database_url, pki, host_tls) as api:
        assert (await api.deliver(paypal_event())).status_code == 200  # caches cert_url
        bodies = [paypal_event() for _ in range(60)]
        responses = await asyncio.gather(
            *(
                api.post(body, api.signed(body, f"{api.allowed.origin}/certs/{number}"))
                for number, body in enumerate(bodies)
            )
        )
        codes = [response.status_code for response in responses]
        assert set(codes) == {400, 503}
        assert codes.count(400) == FETCHES_PER_WINDOW - 1
        assert api.allowed.connections == FETCHES_PER_WINDOW
        assert await _stored(*(_event_id(body) for body in bodies)) == 0
        assert (await api.deliver(paypal_event())).status_code == 200


async def test_the_certificate_cache_is_bounded(
    pki: PayPalPKI, host_tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many certificate URLs are named, at most CACHE_ENTRIES of each kind are kept.

    Trusted certificates and refused URLs are kept apart, CACHE_ENTRIES each.
    """
    monkeypatch.setattr(signature, "FETCHES_PER_WINDOW", 1000)
    async with CertificateHost(host_tls).running() as host:
        verifier = WebhookVerifier(
            WEBHOOK_ID,
            frozenset({f"127.0.0.1:{host.port}"}),
            [pki.authority.certificate],
            ssl.create_default_context(cafile=str(pki.ca_file)),
        )
        for number in range(2 * CACHE_ENTRIES + 20):
            body = paypal_event()
            url = (
                host.publish(pki.leaf.certificate_pem) if number % 2 else f"{host.origin}/{number}"
            )
            headers = {
                k.lower(): v for k, v in pki.leaf.sign_paypal_webhook(body, url, WEBHOOK_ID).items()
            }
            try:
                await verifier.verify(headers, body)
            except SignatureRefused:
                assert number % 2 == 0
        assert verifier.cached_certificates == 2 * CACHE_ENTRIES
        assert host.connections == 2 * CACHE_ENTRIES + 20


def _verifier_for(host: CertificateHost, pki: PayPalPKI) -> WebhookVerifier:
    return WebhookVerifier(
        WEBHOOK_ID,
        frozenset({f"127.0.0.1:{host.port}"}),
        [pki.authority.certificate],
        ssl.create_default_context(cafile=str(pki.ca_file)),
    )


def _signed(pki: PayPalPKI, body: bytes, url: str) -> dict[str, str]:
    return {k.lower(): v for k, v in pki.leaf.sign_paypal_webhook(body, url, WEBHOOK_ID).items()}


async def test_strangers_urls_never_evict_or_starve_the_trusted_certificate(
    pki: PayPalPKI, host_tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of refused URLs keeps the trusted certificate usable.

    Past its re-fetch time, with the fetch budget spent, it still serves while the
    certificate itself is valid.
    """
    monkeypatch.setattr(signature, "FETCHES_PER_WINDOW", 1000)
    async with CertificateHost(host_tls).running() as host:
        verifier = _verifier_for(host, pki)
        trusted = host.publish(pki.leaf.certificate_pem)
        await verifier.verify(_signed(pki, body := paypal_event(), trusted), body)
        for number in range(4 * CACHE_ENTRIES):
            junk = paypal_event()
            with pytest.raises(SignatureRefused):
                await verifier.verify(_signed(pki, junk, f"{host.origin}/junk/{number}"), junk)
        connections = host.connections
        await verifier.verify(_signed(pki, body := paypal_event(), trusted), body)
        assert host.connections == connections  # still cached: not fetched again
        # Its re-fetch time passed while strangers spent the whole fetch budget.
        monkeypatch.setattr(signature, "CERTIFICATE_TTL", timedelta(0))
        monkeypatch.setattr(signature, "FETCHES_PER_WINDOW", 0)
        stale = signature._Cached(
            verifier._cache[trusted].key,
            signature.datetime.now(signature.UTC),
            verifier._cache[trusted].expires,
        )
        verifier._cache[trusted] = stale
        await verifier.verify(_signed(pki, body := paypal_event(), trusted), body)


async def test_an_unreachable_url_is_not_asked_for_again_at_once(
    pki: PayPalPKI, host_tls: ssl.SSLContext
) -> None:
    """One unreachable URL named again and again costs one fetch, and stays a 503."""
    async with CertificateHost(host_tls).running() as host:
        port = host.port
        verifier = _verifier_for(host, pki)
    url = f"https://127.0.0.1:{port}/cert"
    for _ in range(5):
        body = paypal_event()
        with pytest.raises(CertificateUnavailable):
            await verifier.verify(_signed(pki, body, url), body)
    assert len(verifier._fetch_times) == 1


async def test_an_unreachable_certificate_host_is_503_so_paypal_retries(
    pki: PayPalPKI, host_tls: ssl.SSLContext
) -> None:
    """A listed host that is down: CertificateUnavailable (503 at the route), not a refusal."""
    async with CertificateHost(host_tls).running() as host:
        port = host.port
    verifier = WebhookVerifier(
        WEBHOOK_ID,
        frozenset({f"127.0.0.1:{port}"}),
        [pki.authority.certificate],
        ssl.create_default_context(cafile=str(pki.ca_file)),
    )
    body = paypal_event()
    signed = pki.leaf.sign_paypal_webhook(body, f"https://127.0.0.1:{port}/cert", WEBHOOK_ID)
    with pytest.raises(CertificateUnavailable):
        await verifier.verify({k.lower(): v for k, v in signed.items()}, body)


async def test_a_listed_host_whose_tls_is_not_trusted_yields_no_certificate(
    pki: PayPalPKI, tmp_path: Path
) -> None:
    """The fetch's TLS is checked against the trust anchors too: an impostor is not read.

    On a listed host, with TLS from another CA: its certificate is never received; the
    answer is unavailable (503), and PayPal retries.
    """
    impostor = PayPalPKI.create(tmp_path)
    async with CertificateHost(impostor.server_tls(tmp_path)).running() as host:
        verifier = WebhookVerifier(
            WEBHOOK_ID,
            frozenset({f"127.0.0.1:{host.port}"}),
            [pki.authority.certificate],
            ssl.create_default_context(cafile=str(pki.ca_file)),
        )
        url = host.publish(pki.leaf.certificate_pem)
        body = paypal_event()
        signed = pki.leaf.sign_paypal_webhook(body, url, WEBHOOK_ID)
        with pytest.raises(CertificateUnavailable):
            await verifier.verify({k.lower(): v for k, v in signed.items()}, body)
        # Tried (a refused URL would be SignatureRefused), but no TLS session came of it.
        assert (host.connections, sum(host.requests.values())) == (0, 0)


async def test_a_host_dripping_bytes_is_given_up_on_at_the_fetch_deadline(
    pki: PayPalPKI, host_tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listed host dripping one byte every 0.1 s is cut off at the fetch's deadline.

    Each read is well inside any per-read timeout; the whole fetch's deadline ends it:
    unavailable (503, PayPal retries), not a hang holding the fetch queue.
    """
    monkeypatch.setattr(signature, "FETCH_TIMEOUT_SECONDS", 1.0)
    async with CertificateHost(host_tls, drip_seconds=0.1).running() as host:
        verifier = WebhookVerifier(
            WEBHOOK_ID,
            frozenset({f"127.0.0.1:{host.port}"}),
            [pki.authority.certificate],
            ssl.create_default_context(cafile=str(pki.ca_file)),
        )
        body = paypal_event()
        signed = pki.leaf.sign_paypal_webhook(body, f"{host.origin}/cert", WEBHOOK_ID)
        started = time.monotonic()
        with pytest.raises(CertificateUnavailable):
            await verifier.verify({k.lower(): v for k, v in signed.items()}, body)
        assert 1.0 <= time.monotonic() - started < 5.0
        assert host.requests["/cert"] == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.paypal.com/v1/notifications/certs/CERT-360caa42", True),
        ("https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1", True),
        ("https://API.PAYPAL.COM/v1/notifications/certs/CERT-1", True),
        ("https://paypal.com/cert", False),
        ("https://www.paypal.com/signin", False),
        ("https://api.paypal.com/v1/notifications/webhooks", False),
        ("http://api.paypal.com/cert", False),
        ("https://api.paypal.com:8443/cert", False),
        ("https://paypal.com.evil.test/cert", False),
        ("https://evilpaypal.com/cert", False),
        ("https://api.paypal.com@evil.test/cert", False),
        ("https://evil.test\\@api.paypal.com/cert", False),
        ("https://evil.test/cert?.paypal.com", False),
        ("https://evil.test#.paypal.com", False),
        ("ftp://api.paypal.com/cert", False),
        ("//api.paypal.com/cert", False),
        ("https://certs.listed.test/cert", True),
        ("http://certs.listed.test/cert", False),
        ("http://127.0.0.1:8443/cert", True),
        ("http://127.0.0.1:8444/cert", False),
        ("https://[::1]:9/cert", False),
        ("http://[::1]:8443/cert", True),
        ("http://[::1]:8444/cert", False),
        ("https://[::2]:8443/cert", False),
        ("https://api.paypal.com:99999/cert", False),
    ],
)
def test_certificate_url_rules(url: str, allowed: bool) -> None:
    """paypal.com over https, listed hosts over https, listed loopback hosts over http."""
    listed = frozenset({"certs.listed.test", "127.0.0.1:8443", "[::1]:8443"})
    assert certificate_url_allowed(url, listed) is allowed
