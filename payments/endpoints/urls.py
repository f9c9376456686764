"""Which URLs an event endpoint may have: a registry must not become a way into the cluster."""

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from models.endpoint import URL_LENGTH
from payments.shared.addresses import is_public
from payments.shared.errors import ValidationFailed
from payments.shared.settings import Settings

# A host name to the addresses it resolves to (a seam: tests resolve names as they like).
Resolve = Callable[[str], Awaitable[list[str]]]


async def resolve_host(host: str) -> list[str]:
    """Every address the system resolver gives for `host` (an address resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class UrlRules:
    """ENVIRONMENT=production: https only, and no private target unless allowed."""

    production: bool = False
    allow_private_networks: bool = False
    resolve: Resolve = field(default=resolve_host)

    @property
    def public_only(self) -> bool:
        """Whether an admin's endpoint may reach public addresses only."""
        return self.production and not self.allow_private_networks

    @classmethod
    def from_settings(cls, settings: Settings) -> "UrlRules":
        return cls(settings.is_production, settings.endpoint_allow_private_networks)

    async def check(self, url: str) -> str:
        """`url` when an endpoint may have it; ValidationFailed (field `url`) otherwise."""
        parts = _parts(url)
        if not self.production:
            return url
        if parts.scheme != "https":
            raise _refused("In production an endpoint URL must use https.")
        if self.public_only:
            await self._check_public(parts.hostname or "")
        return url

    async def _check_public(self, host: str) -> None:
        try:
            addresses = await self.resolve(host)
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            raise _refused("The endpoint's host does not resolve.")
        if not all(is_public(address) for address in addresses):
            raise _refused(
                "The endpoint's host resolves to a loopback, private or link-local address."
            )


def _parts(url: str) -> SplitResult:
    if len(url) > URL_LENGTH or any(c.isspace() or c == "\x00" for c in url):
        raise _refused(f"An endpoint URL is one line of at most {URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # a malformed port raises here
    except ValueError:
        raise _refused("The endpoint URL cannot be parsed.") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise _refused("An endpoint URL is http:// or https:// with a host.")
    return parts


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="url")
