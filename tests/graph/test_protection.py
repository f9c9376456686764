"""GraphQL protections: document limits, one money mutation, CSRF, size, batching, production."""

import httpx
import pytest

from models.payment import Payment
from payments.app import create_app
from tests.conftest import make_settings
from tests.graph.charging import charge_input
from tests.support import error_codes, graphql, new_subject, serve, token

CHARGE_FIELD = 'chargePayment(input: $input, idempotencyKey: "{key}") {{ payment {{ id }} }}'


def _deep_introspection(depth: int) -> str:
    query = "name"
    for _ in range(depth):
        query = f"fields {{ type {{ {query} }} }}"
    return f"query Deep {{ __schema {{ types {{ {query} }} }} }}"


async def _no_charge_happened(sub: str) -> bool:
    return await Payment.filter(customer_id=sub).count() == 0


async def test_too_deep_document_is_rejected_before_any_resolver(http):
    """A depth-20 query rejects the whole document: the charge beside it never runs."""
    sub = new_subject()
    document = f"mutation M($input: ChargePaymentInput!) {{ {CHARGE_FIELD.format(key='d')} }} "
    document += _deep_introspection(20)
    response = await http.post(
        "/graphql",
        json={"query": document, "operationName": "M", "variables": {"input": charge_input()}},
        headers={"Authorization": f"Bearer {token(sub)}"},
    )
    assert error_codes(response.json()) and "depth" in str(response.json()["errors"]).lower()
    assert await _no_charge_happened(sub)


async def test_circular_fragments_are_rejected(http):
    """Fragments that spread each other are refused, not followed forever."""
    document = """query { payments { ...A } }
      fragment A on PaymentConnection { pageInfo { hasNextPage } ...B }
      fragment B on PaymentConnection { ...A }"""
    body = await graphql(http, document, bearer=token(new_subject()))
    assert error_codes(body)
    assert body.get("data") is None


async def test_sixteen_aliases_are_rejected(http):
    """16 aliases exceed the limit of 15, and the charge among them does not run."""
    sub = new_subject()
    aliases = " ".join(f"a{i}: __typename" for i in range(15))
    document = (
        f"mutation($input: ChargePaymentInput!) {{ {aliases} pay: {CHARGE_FIELD.format(key='a')} }}"
    )
    body = await graphql(http, document, {"input": charge_input()}, bearer=token(sub))
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert await _no_charge_happened(sub)


@pytest.mark.parametrize("via_fragment", [False, True])
async def test_one_money_mutation_per_document(http, via_fragment):
    """Two chargePayment fields (aliased, or hidden in a fragment) are refused together."""
    sub = new_subject()
    fields = f"a: {CHARGE_FIELD.format(key='x')} b: {CHARGE_FIELD.format(key='y')}"
    document = (
        f"mutation($input: ChargePaymentInput!) {{ ...F }} fragment F on Mutation {{ {fields} }}"
        if via_fragment
        else f"mutation($input: ChargePaymentInput!) {{ {fields} }}"
    )
    body = await graphql(http, document, {"input": charge_input()}, bearer=token(sub))
    assert "one money-moving mutation" in body["errors"][0]["message"]
    assert await _no_charge_happened(sub)


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'[{"query": "{ __typename }"}]', "application/json", 400),
        (b"query={__typename}", "application/x-www-form-urlencoded", 415),
        (b'{"query": "{ __typename }"}', "text/plain", 415),
        (b'{"query": "{ __typename }", "x": "' + b"a" * 70_000 + b'"}', "application/json", 413),
    ],
    ids=["batch", "form", "text-plain", "too-large"],
)
async def test_requests_that_never_execute(http, content, content_type, status):
    """Batches, non-JSON (CSRF-able) posts and bodies over 64 KiB get a GraphQL-shaped error."""
    response = await http.post("/graphql", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_production_hides_introspection_suggestions_and_graphiql(database_url):
    """ENVIRONMENT=production: no introspection, no 'Did you mean', no GraphiQL page."""
    app = create_app(make_settings(database_url, environment="production"), owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        bearer = token(new_subject())
        introspection = await graphql(client, "{ __schema { types { name } } }", bearer=bearer)
        typo = await graphql(client, "{ paymnts { nodes { id } } }", bearer=bearer)
        page = await client.get("/graphql", headers={"accept": "text/html"})
    assert error_codes(introspection)
    assert "Did you mean" not in typo["errors"][0]["message"]
    assert "graphiql" not in page.text.lower()


async def test_development_still_suggests(http):
    """Outside production the helpful hint stays."""
    body = await graphql(http, "{ paymnts { nodes { id } } }", bearer=token(new_subject()))
    assert "Did you mean" in body["errors"][0]["message"]


async def test_security_headers_and_request_id(http):
    """Every response carries security headers and echoes (or creates) X-Request-ID."""
    echoed = await http.get("/health/live", headers={"x-request-id": "req-123"})
    created = await http.get("/health/live")
    assert echoed.headers["x-request-id"] == "req-123"
    assert len(created.headers["x-request-id"]) == 32
    assert echoed.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in echoed.headers["content-security-policy"]


async def test_graphiql_csp_allows_exactly_its_cdn(http):
    """The GraphiQL page's CSP lets its unpkg scripts and inline bootstrap run, nothing else."""
    page = await http.get("/graphql", headers={"accept": "text/html"})
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline' https://unpkg.com" in csp
    assert "https://unpkg.com/graphiql" in page.text


async def test_cors_allows_only_configured_origins(database_url):
    """A configured origin gets CORS headers on preflight; any other origin does not."""
    settings = make_settings(database_url, cors_allowed_origins="https://shop.example")
    async with serve(create_app(settings, owns_database=False)) as url, httpx.AsyncClient() as c:
        allowed = await c.options(
            f"{url}/graphql",
            headers={"origin": "https://shop.example", "access-control-request-method": "POST"},
        )
        refused = await c.options(
            f"{url}/graphql",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in refused.headers
