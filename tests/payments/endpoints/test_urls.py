"""An endpoint URL cannot aim the delivery worker at the cluster: the requests an attacker sends."""

import pytest

from payments.endpoints.urls import UrlRules
from payments.shared.errors import ValidationFailed


def _resolving(answers: dict[str, list[str]]) -> UrlRules:
    """Production rules whose resolver answers from `answers` (a name it lacks: no address)."""

    async def resolve(host: str) -> list[str]:
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]

    return UrlRules(production=True, resolve=resolve)


PRODUCTION = UrlRules(production=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/events",
        "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "https://10.0.0.7:8443/events",
        "https://192.168.1.1/",
        "https://[::1]/events",
        "https://[::ffff:127.0.0.1]/events",  # IPv4-mapped IPv6 for loopback
        "https://[::ffff:a9fe:a9fe]/",  # ... and for 169.254.169.254, in hex
        "https://[fe80::1]/",
        "https://[fd00::1]/",
        "https://0.0.0.0/",
        "https://localhost/events",
    ],
)
async def test_production_refuses_loopback_private_and_link_local_targets(url):
    """Literal addresses and names of the host or cluster are VALIDATION_ERROR on `url`."""
    with pytest.raises(ValidationFailed) as refused:
        await PRODUCTION.check(url)
    assert refused.value.field == "url"


async def test_production_refuses_a_name_that_resolves_to_a_private_address():
    """A public-looking name whose DNS answers 10.x (or one private address among public ones)."""
    rules = _resolving(
        {"hooks.attacker.example": ["10.1.2.3"], "mixed.example": ["93.184.216.34", "10.0.0.1"]}
    )
    for url in ("https://hooks.attacker.example/e", "https://mixed.example/e"):
        with pytest.raises(ValidationFailed, match="loopback, private or link-local"):
            await rules.check(url)


async def test_production_accepts_a_public_https_host_and_refuses_plain_http_and_unknown_names():
    """A name resolving publicly over https passes; http, or a name that does not resolve, fails."""
    rules = _resolving({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::"]})
    assert await rules.check("https://hooks.example.com/e") == "https://hooks.example.com/e"
    with pytest.raises(ValidationFailed, match="https"):
        await rules.check("http://hooks.example.com/e")
    with pytest.raises(ValidationFailed, match="does not resolve"):
        await rules.check("https://nowhere.example/e")


async def test_private_networks_are_allowed_when_configured_and_outside_production():
    """ENDPOINT_ALLOW_PRIVATE_NETWORKS=true, or development: a cluster-internal URL is fine."""
    allowed = UrlRules(production=True, allow_private_networks=True)
    assert await allowed.check("https://10.0.0.7/e") == "https://10.0.0.7/e"
    assert await UrlRules().check("http://127.0.0.1:9000/e") == "http://127.0.0.1:9000/e"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com/\x00",
        "https://example.com/" + "a" * 2048,
    ],
)
async def test_anything_but_an_http_or_https_url_is_refused_everywhere(url):
    """Other schemes, no host, spaces, NUL, a bad port or an over-long URL: VALIDATION_ERROR."""
    with pytest.raises(ValidationFailed):
        await UrlRules().check(url)
