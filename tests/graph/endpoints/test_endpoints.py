"""The endpoint registry in GraphQL: admin only, secrets shown once, URLs and filters checked."""

from collections.abc import AsyncIterator

import httpx
import pytest

from app.factory import create_app
from app.wiring import simulated_gateway
from models.endpoint import EventEndpoint
from payments.shared.auth import ALL_SCOPES
from tests.conftest import make_settings
from tests.support import error_codes, graphql, new_subject, serve, token

ENDPOINT = "endpoint { id url eventTypes enabled description disabledReason createdAt }"
CREATE = f"""mutation($input: CreateEventEndpointInput!) {{ createEventEndpoint(input: $input) {{
  {ENDPOINT} secret errors {{ code field message }} }} }}"""
UPDATE = f"""mutation($input: UpdateEventEndpointInput!) {{ updateEventEndpoint(input: $input) {{
  {ENDPOINT} secret errors {{ code field }} }} }}"""
ROTATE = f"""mutation($input: RotateEventEndpointSecretInput!) {{
  rotateEventEndpointSecret(input: $input) {{ {ENDPOINT} secret errors {{ code field }} }} }}"""
DELETE = f"""mutation($input: DeleteEventEndpointInput!) {{ deleteEventEndpoint(input: $input) {{
  {ENDPOINT} secret errors {{ code field }} }} }}"""
RECOVER = f"""mutation($input: RecoverEventEndpointInput!) {{ recoverEventEndpoint(input: $input) {{
  {ENDPOINT} secret errors {{ code field }} }} }}"""
LIST = """query($first: Int, $after: String) { eventEndpoints(first: $first, after: $after) {
  edges { cursor node { id url eventTypes enabled } } pageInfo { hasNextPage endCursor } } }"""
NODE = """query($id: ID!) { node(id: $id) { id ... on EventEndpoint { url enabled } } }"""
ADMIN = token("endpoints-admin", ALL_SCOPES)


async def _create(http: httpx.AsyncClient, **fields: object) -> dict:
    body = await graphql(http, CREATE, {"input": fields}, bearer=ADMIN)
    return body["data"]["createEventEndpoint"]


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (LIST, {}),
        (CREATE, {"input": {"url": "http://127.0.0.1:9/e"}}),
        (UPDATE, {"input": {"id": "ep_1", "enabled": False}}),
        (ROTATE, {"input": {"id": "ep_1"}}),
        (DELETE, {"input": {"id": "ep_1"}}),
        (RECOVER, {"input": {"id": "ep_1", "since": "2026-01-01T00:00:00Z"}}),
    ],
    ids=["list", "create", "update", "rotate", "delete", "recover"],
)
async def test_endpoint_operations_are_forbidden_without_the_admin_scope(http, document, variables):
    """A customer's token (read, write, refund) gets a top-level FORBIDDEN and changes nothing."""
    before = await EventEndpoint.all().count()
    body = await graphql(http, document, variables, bearer=token(new_subject()))
    assert error_codes(body) == ["FORBIDDEN"]
    assert await EventEndpoint.all().count() == before


async def test_create_shows_the_secret_once_and_the_registry_lists_the_endpoint(http):
    """Creating answers a whsec_ secret and ["*"]; list and node show the endpoint, no secret."""
    created = await _create(http, url="http://127.0.0.1:9/one", description="analytics")
    endpoint = created["endpoint"]
    assert created["errors"] == [] and created["secret"].startswith("whsec_")
    assert endpoint["eventTypes"] == ["*"] and endpoint["enabled"] is True
    assert endpoint["id"].startswith("ep_") and endpoint["description"] == "analytics"
    listed, after = [], None
    while True:
        page = await graphql(http, LIST, {"first": 50, "after": after}, bearer=ADMIN)
        connection = page["data"]["eventEndpoints"]
        listed += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert endpoint["id"] in listed
    node = await graphql(http, NODE, {"id": endpoint["id"]}, bearer=ADMIN)
    assert node["data"]["node"] == {
        "id": endpoint["id"],
        "url": "http://127.0.0.1:9/one",
        "enabled": True,
    }
    hidden = await graphql(http, NODE, {"id": endpoint["id"]}, bearer=token(new_subject()))
    assert hidden["data"]["node"] is None


async def test_update_rotate_and_delete_an_endpoint(http):
    """Disable gives a reason, enable clears it; rotate gives a new secret; delete removes it."""
    created = await _create(http, url="http://127.0.0.1:9/two", eventTypes=["payment.*"])
    endpoint_id = created["endpoint"]["id"]
    disabled = await graphql(
        http, UPDATE, {"input": {"id": endpoint_id, "enabled": False}}, bearer=ADMIN
    )
    assert disabled["data"]["updateEventEndpoint"]["endpoint"]["disabledReason"]
    changes = {
        "id": endpoint_id,
        "enabled": True,
        "url": "http://127.0.0.1:9/2",
        "eventTypes": ["payment.refunded"],
    }
    updated = (await graphql(http, UPDATE, {"input": changes}, bearer=ADMIN))["data"][
        "updateEventEndpoint"
    ]
    assert updated["endpoint"]["disabledReason"] is None and updated["secret"] is None
    assert updated["endpoint"]["url"] == "http://127.0.0.1:9/2"
    assert updated["endpoint"]["eventTypes"] == ["payment.refunded"]
    rotated = (await graphql(http, ROTATE, {"input": {"id": endpoint_id}}, bearer=ADMIN))["data"]
    new_secret = rotated["rotateEventEndpointSecret"]["secret"]
    assert new_secret.startswith("whsec_") and new_secret != created["secret"]
    row = await EventEndpoint.get(id=endpoint_id)
    assert (row.secret, row.previous_secret) == (new_secret, created["secret"])
    deleted = await graphql(http, DELETE, {"input": {"id": endpoint_id}}, bearer=ADMIN)
    assert deleted["data"]["deleteEventEndpoint"]["endpoint"]["id"] == endpoint_id
    assert not await EventEndpoint.filter(id=endpoint_id).exists()
    again = await graphql(http, ROTATE, {"input": {"id": endpoint_id}}, bearer=ADMIN)
    assert again["data"]["rotateEventEndpointSecret"]["errors"] == [
        {"code": "NOT_FOUND", "field": "id"}
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "ftp://127.0.0.1/e"}, "url"),
        ({"url": "http://127.0.0.1/e", "eventTypes": []}, "eventTypes"),
        ({"url": "http://127.0.0.1/e", "eventTypes": ["payment*.x"]}, "eventTypes"),
        ({"url": "http://127.0.0.1/e", "eventTypes": ["Payment.Succeeded"]}, "eventTypes"),
        ({"url": "http://127.0.0.1/e", "description": "a\u0000b"}, "description"),
    ],
    ids=["scheme", "no-types", "inner-star", "upper-case", "nul"],
)
async def test_bad_urls_and_filters_are_validation_errors(http, fields, field):
    """Each bad input is a VALIDATION_ERROR on its field, and no endpoint is created."""
    before = await EventEndpoint.all().count()
    created = await _create(http, **fields)
    assert created["endpoint"] is None and created["secret"] is None
    assert [(e["code"], e["field"]) for e in created["errors"]] == [("VALIDATION_ERROR", field)]
    assert await EventEndpoint.all().count() == before


@pytest.fixture
async def production(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API as ENVIRONMENT=production runs it."""
    settings = make_settings(database_url, environment="production")
    app = create_app(settings, gateway=simulated_gateway(settings), owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/e",  # https only
        "https://127.0.0.1/e",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost:8000/graphql",
        "https://[::1]/e",
        "https://[::ffff:127.0.0.1]/e",
        "https://10.0.0.1/e",
    ],
)
async def test_production_refuses_endpoints_aimed_inside_the_network(production, url):
    """An admin registering (or moving an endpoint to) a loopback, private or link-local URL."""
    before = await EventEndpoint.all().count()
    created = await _create(production, url=url)
    assert [(e["code"], e["field"]) for e in created["errors"]] == [("VALIDATION_ERROR", "url")]
    assert await EventEndpoint.all().count() == before
    existing = await EventEndpoint.create(url="https://93.184.216.34/e", secret="whsec_eA==")
    moved = await graphql(
        production, UPDATE, {"input": {"id": existing.id, "url": url}}, bearer=ADMIN
    )
    assert moved["data"]["updateEventEndpoint"]["errors"] == [
        {"code": "VALIDATION_ERROR", "field": "url"}
    ]
    assert (await EventEndpoint.get(id=existing.id)).url == "https://93.184.216.34/e"
