"""The event endpoint registry: admins' changes to it, and what delivery reads of it."""

import base64
import binascii
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from models.endpoint import EventEndpoint
from payments.endpoints import repository
from payments.endpoints.urls import UrlRules
from payments.outbox import relay
from payments.outbox.destination import EVERY_EVENT, Destination
from payments.shared.auth import Principal, Scope
from payments.shared.errors import NotFound, ValidationFailed
from payments.shared.input_rules import as_utc, check_text

MAX_PAGE_SIZE = 100
MAX_EVENT_TYPES = 50
_EVENT_TYPE_LENGTH = 64
_EVENT_TYPE_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._")
_CURSOR_KIND = "endpoint:"
DISABLED_BY_ADMIN = "Disabled by an admin."
DESTINATION_TTL = timedelta(seconds=1)


@dataclass(frozen=True)
class EndpointChanges:
    """An update: None leaves a field as it is."""

    url: str | None = None
    event_types: Sequence[str] | None = None
    enabled: bool | None = None
    description: str | None = None


@dataclass(frozen=True)
class EndpointPage:
    endpoints: list[EventEndpoint]
    has_next_page: bool

    @property
    def cursors(self) -> list[str]:
        return [endpoint_cursor(endpoint.id) for endpoint in self.endpoints]


def endpoint_cursor(endpoint_id: str) -> str:
    return base64.urlsafe_b64encode((_CURSOR_KIND + endpoint_id).encode()).decode()


async def list_endpoints(principal: Principal, first: int, after: str | None) -> EndpointPage:
    """Endpoints, oldest first, for an admin."""
    principal.require(Scope.READ, Scope.ADMIN)
    if not 0 < first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE_SIZE}.", field="first")
    rows = await repository.page(first + 1, _after_id(after) if after else None)
    return EndpointPage(rows[:first], len(rows) > first)


async def get_endpoint(principal: Principal, endpoint_id: str) -> EventEndpoint | None:
    """The endpoint for an admin; None for anyone else, as for an id that names none."""
    if not {Scope.READ, Scope.ADMIN} <= principal.scopes:
        return None
    return await repository.get(endpoint_id)


async def create_endpoint(
    principal: Principal,
    rules: UrlRules,
    url: str,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
) -> tuple[EventEndpoint, str]:
    """Register an endpoint; it and its new `whsec_` secret, shown this once."""
    principal.require(Scope.WRITE, Scope.ADMIN)
    endpoint = EventEndpoint(
        url=await rules.check(url),
        event_types=_event_types([EVERY_EVENT] if event_types is None else event_types),
        description=_description(description),
        secret=new_secret(),
    )
    await repository.insert(endpoint)
    return endpoint, endpoint.secret


async def update_endpoint(
    principal: Principal, rules: UrlRules, endpoint_id: str, changes: EndpointChanges
) -> EventEndpoint:
    """Change what is given; enabling clears the disabled reason and the run of failures."""
    principal.require(Scope.WRITE, Scope.ADMIN)
    columns: dict[str, object] = {}
    if changes.url is not None:
        columns["url"] = await rules.check(changes.url)
    if changes.event_types is not None:
        columns["event_types"] = _event_types(changes.event_types)
    if changes.description is not None:
        columns["description"] = _description(changes.description)
    if changes.enabled is not None:
        columns["enabled"] = changes.enabled
        columns["disabled_reason"] = None if changes.enabled else DISABLED_BY_ADMIN
        columns["consecutive_dead"] = 0
    return _found(
        await repository.change(endpoint_id, columns)
        if columns
        else await repository.get(endpoint_id)
    )


async def rotate_secret(
    principal: Principal, endpoint_id: str, grace: timedelta
) -> tuple[EventEndpoint, str]:
    """A new secret, shown this once; the old one still signs deliveries for `grace`."""
    principal.require(Scope.WRITE, Scope.ADMIN)
    endpoint = _found(await repository.get(endpoint_id))
    changes = {
        "secret": new_secret(),
        "previous_secret": endpoint.secret,
        "previous_secret_until": datetime.now(UTC) + grace,
    }
    rotated = _found(await repository.change(endpoint_id, changes))
    return rotated, rotated.secret


async def delete_endpoint(principal: Principal, endpoint_id: str) -> EventEndpoint:
    """Remove the endpoint and its deliveries; it gets no event any more."""
    principal.require(Scope.WRITE, Scope.ADMIN)
    endpoint = _found(await repository.get(endpoint_id))
    await repository.delete(endpoint.id)
    await relay.forget_consumer(endpoint.id)
    return endpoint


async def recover_endpoint(
    principal: Principal, endpoint_id: str, since: datetime
) -> EventEndpoint:
    """Send again, in version order per payment, every event since `since` it did not get."""
    principal.require(Scope.WRITE, Scope.ADMIN)
    endpoint = _found(await repository.get(endpoint_id))
    await relay.recover(endpoint.id, destination_of(endpoint).wants, as_utc(since))
    return endpoint


async def enabled_destinations() -> list[Destination]:
    """Every enabled endpoint, as the relay fans events out to them."""
    return [destination_of(endpoint) for endpoint in await repository.enabled()]


class Destinations:
    """Where each endpoint's batches go, read at most once a DESTINATION_TTL per process.

    A batch runs every few milliseconds per endpoint under load; an admin's change (URL,
    secret, disabling, deletion) reaches delivery within the TTL.
    """

    def __init__(self, rules: UrlRules, ttl: timedelta = DESTINATION_TTL) -> None:
        self.rules = rules
        self.ttl = ttl.total_seconds()
        self._read: dict[str, tuple[float, Destination | None]] = {}

    async def get(self, endpoint_id: str) -> Destination | None:
        """The endpoint's destination; None once deleted or disabled.

        An admin's endpoint reaches public addresses only where the rules say so; those the
        environment defines are the operator's own, typically inside the cluster.
        """
        read_at, known = self._read.get(endpoint_id, (-math.inf, None))
        if time.monotonic() - read_at < self.ttl:
            return known
        endpoint = await repository.get(endpoint_id)
        found = None
        if endpoint is not None and endpoint.enabled:
            public_only = self.rules.public_only and endpoint.configured_as is None
            found = replace(destination_of(endpoint), public_only=public_only)
        self._read[endpoint_id] = (time.monotonic(), found)
        return found

    def forget(self, endpoint_id: str) -> None:
        """Read the endpoint afresh next time."""
        self._read.pop(endpoint_id, None)


def destination_of(endpoint: EventEndpoint) -> Destination:
    """The endpoint as delivery sees it: signed by the replaced secret too while in grace."""
    keys: tuple[str, ...] = (endpoint.secret,)
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and until > datetime.now(UTC):
        keys += (endpoint.previous_secret,)
    return Destination(
        endpoint.id,
        endpoint.url,
        keys,
        tuple(endpoint.event_types),
        failing=endpoint.consecutive_dead > 0,
    )


async def record_outcomes(
    destination: Destination, delivered: int, dead: int, disable_after: int
) -> None:
    """Track the endpoint's run of dead-lettered deliveries; disable it at `disable_after`.

    A healthy endpoint's deliveries (none dead, none before) change nothing: no statement.
    """
    if not dead and not (delivered and destination.failing):
        return
    reason = f"The last {disable_after} deliveries were dead-lettered."
    await repository.note_outcomes(destination.id, delivered, dead, disable_after, reason)


async def define_configured(named: dict[str, str], secret: str) -> None:
    """ORDER_SERVICE_URL and the like: their endpoints, signed with OUTBOUND_WEBHOOK_SECRET.

    Deliveries made before endpoints existed name their consumer (`order`): they become
    that endpoint's, so an upgrade delivers what was still open.
    """
    for name, url in named.items():
        endpoint_id = await repository.define_configured(name, url, secret)
        await relay.adopt_deliveries(name, endpoint_id)


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _event_types(event_types: Sequence[str]) -> list[str]:
    if not 0 < len(event_types) <= MAX_EVENT_TYPES:
        raise ValidationFailed(
            f"eventTypes holds 1 to {MAX_EVENT_TYPES} names.", field="eventTypes"
        )
    for name in event_types:
        if not _is_event_type(name):
            raise ValidationFailed(
                "An event type is a name such as payment.succeeded, or a prefix ending in *"
                " such as payment.*.",
                field="eventTypes",
            )
    return list(dict.fromkeys(event_types))


def _is_event_type(name: str) -> bool:
    stem = name.removesuffix("*")
    return (
        0 < len(name) <= _EVENT_TYPE_LENGTH
        and set(stem) <= _EVENT_TYPE_CHARACTERS
        and (name == EVERY_EVENT or bool(stem))
    )


def _description(description: str | None) -> str | None:
    if description is not None:
        check_text(description, "description", 255)
    return description


def _after_id(cursor: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded.startswith(_CURSOR_KIND):
        raise ValidationFailed("Invalid pagination cursor.", field="after")
    return decoded.removeprefix(_CURSOR_KIND)


def _found(endpoint: EventEndpoint | None) -> EventEndpoint:
    if endpoint is None:
        raise NotFound("event endpoint", field="id")
    return endpoint
