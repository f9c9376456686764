"""create/update/rotate/delete/recover of event endpoints: one service call each, one payload."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

import strawberry

from graph.context import Info
from graph.endpoints.types import (
    CreateEventEndpointInput,
    DeleteEventEndpointInput,
    EventEndpoint,
    EventEndpointPayload,
    RecoverEventEndpointInput,
    RotateEventEndpointSecretInput,
    UpdateEventEndpointInput,
)
from graph.payload import payload_errors
from models.endpoint import EventEndpoint as StoredEndpoint
from payments.endpoints import service as endpoints
from payments.endpoints.urls import UrlRules
from payments.shared.auth import Principal
from payments.shared.errors import PaymentsError

# What a mutation's service returns: the endpoint, with its secret when it shows one.
Outcome = StoredEndpoint | tuple[StoredEndpoint, str]


async def _answer(
    info: Info, service: Callable[[Principal], Awaitable[Outcome]]
) -> EventEndpointPayload:
    """Run one endpoint service for the caller; its expected errors become the payload's."""
    principal = await info.context.principal()
    try:
        outcome = await service(principal)
    except PaymentsError as error:
        return EventEndpointPayload(errors=payload_errors(error))
    endpoint, secret = outcome if isinstance(outcome, tuple) else (outcome, None)
    return EventEndpointPayload(endpoint=EventEndpoint.from_model(endpoint), secret=secret)


def _rules(info: Info) -> UrlRules:
    return UrlRules.from_settings(info.context.runtime.settings)


@strawberry.type
class EndpointMutations:
    @strawberry.mutation(description="Register an endpoint; its secret is shown this once.")
    async def create_event_endpoint(
        self, info: Info, input: CreateEventEndpointInput
    ) -> EventEndpointPayload:
        return await _answer(
            info,
            lambda principal: endpoints.create_endpoint(
                principal, _rules(info), input.url, input.event_types, input.description
            ),
        )

    @strawberry.mutation(description="Change an endpoint's URL, filter, description or state.")
    async def update_event_endpoint(
        self, info: Info, input: UpdateEventEndpointInput
    ) -> EventEndpointPayload:
        return await _answer(
            info,
            lambda principal: endpoints.update_endpoint(
                principal, _rules(info), str(input.id), input.to_domain()
            ),
        )

    @strawberry.mutation(
        description="A new secret, shown this once; the old one also signs for a grace period."
    )
    async def rotate_event_endpoint_secret(
        self, info: Info, input: RotateEventEndpointSecretInput
    ) -> EventEndpointPayload:
        seconds = info.context.runtime.settings.endpoint_secret_grace_seconds
        return await _answer(
            info,
            lambda principal: endpoints.rotate_secret(
                principal, str(input.id), timedelta(seconds=seconds)
            ),
        )

    @strawberry.mutation(description="Remove an endpoint and its deliveries.")
    async def delete_event_endpoint(
        self, info: Info, input: DeleteEventEndpointInput
    ) -> EventEndpointPayload:
        return await _answer(
            info, lambda principal: endpoints.delete_endpoint(principal, str(input.id))
        )

    @strawberry.mutation(
        description="Send again, in order, every event since `since` the endpoint did not get."
    )
    async def recover_event_endpoint(
        self, info: Info, input: RecoverEventEndpointInput
    ) -> EventEndpointPayload:
        return await _answer(
            info,
            lambda principal: endpoints.recover_endpoint(principal, str(input.id), input.since),
        )
