"""HTTP protections of /graphql (CSRF, size, batching, GET), production mode, headers, CORS."""

import httpx
import pytest

from app.asgi_middleware import CrossOrigin, RequestContext
from app.factory import create_app
from models.payment import Payment
from tests.conftest import make_settings
from tests.support import error_codes, graphql, new_subject, serve, token

TYPENAME = b'{"query": "{ __typename }"}'


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"[" + TYPENAME + b"]", "application/json", 400),
        (b"query={__typename}", "application/x-www-form-urlencoded", 415),
        (b"--b\r\n\r\n" + TYPENAME + b"\r\n--b--", "multipart/form-data; boundary=b", 415),
        (TYPENAME, "text/plain", 415),
        (TYPENAME, "application/json-seq", 415),
        (b'{"query": "{ __typename }", "x": "' + b"a" * 70_000 + b'"}', "application/json", 413),
    ],
    ids=["batch", "form", "multipart", "text-plain", "other-json-type", "too-large"],
)
async def test_requests_that_never_execute(http, content, content_type, status):
    """Batches, non-JSON (CSRF-able) posts and bodies over 64 KiB get a GraphQL-shaped error."""
    response = await http.post("/graphql", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_json_with_a_charset_is_accepted(http):
    """`application/json; charset=utf-8` is JSON: the operation runs."""
    response = await http.post(
        "/graphql", content=TYPENAME, headers={"content-type": "Application/JSON; charset=utf-8"}
    )
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_streamed_body_without_length_is_cut_at_64_kib(http):
    """A chunked body that never declares its length is counted as it arrives: 413."""

    async def chunks():
        yield b'{"query": "{ __typename }", "x": "'
        for _ in range(70):
            yield b"a" * 1024
        yield b'"}'

    response = await http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_mutation_over_get_is_refused(http):
    """A charge sent as a GET query string is refused and charges nothing."""
    sub = new_subject()
    mutation = (
        'mutation { chargePayment(idempotencyKey: "g", input: {orderId: "o", amount: 500, '
        'currency: "usd", paymentMethodId: "pm_card_visa"}) { payment { id } } }'
    )
    response = await http.get(
        "/graphql", params={"query": mutation}, headers={"Authorization": f"Bearer {token(sub)}"}
    )
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]
    assert not await Payment.filter(customer_id=sub).exists()


async def test_production_hides_introspection_suggestions_and_graphiql(database_url):
    """ENVIRONMENT=production: no introspection, no 'Did you mean', no GraphiQL; HSTS on."""
    app = create_app(make_settings(database_url, environment="production"), owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        bearer = token(new_subject())
        schema = await graphql(client, "{ __schema { types { name } } }", bearer=bearer)
        named_type = await graphql(client, '{ __type(name: "Payment") { name } }', bearer=bearer)
        typo = await graphql(client, "{ paymnts { nodes { id } } }", bearer=bearer)
        bad_enum = await graphql(
            client,
            "query($s: [PaymentStatus!]) { payments(filter: {status: $s}) { nodes { id } } }",
            {"s": ["SUCEEDED"]},
            bearer=bearer,
        )
        page = await client.get("/graphql", headers={"accept": "text/html"})
    # graphql-core reports each introspection field of the document (__schema and types).
    assert set(error_codes(schema)) == set(error_codes(named_type)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection" in schema["errors"][0]["message"]
    assert typo["errors"][0]["message"] == "Cannot query field 'paymnts' on type 'Query'."
    assert error_codes(bad_enum) == ["BAD_USER_INPUT"]
    assert "Did you mean" not in bad_enum["errors"][0]["message"]
    assert page.status_code == 404 and "graphiql" not in page.text.lower()
    assert page.headers["strict-transport-security"].startswith("max-age=")


async def test_development_still_suggests_and_omits_hsts(http):
    """Outside production the helpful hint stays, and HSTS is not sent over plain HTTP."""
    response = await http.post(
        "/graphql",
        json={"query": "{ paymnts { nodes { id } } }"},
        headers={"Authorization": f"Bearer {token(new_subject())}"},
    )
    assert "Did you mean" in response.json()["errors"][0]["message"]
    assert "strict-transport-security" not in response.headers


async def test_security_headers_and_request_id(http):
    """Every response carries security headers and echoes (or creates) X-Request-ID."""
    echoed = await http.get("/health/live", headers={"x-request-id": "req-123"})
    created = await http.get("/health/live")
    unsafe = await http.get("/health/live", headers={"x-request-id": "a\tb<script>"})
    assert echoed.headers["x-request-id"] == "req-123"
    assert len(created.headers["x-request-id"]) == 32
    assert unsafe.headers["x-request-id"] not in {"a\tb<script>", created.headers["x-request-id"]}
    assert echoed.headers["x-content-type-options"] == "nosniff"
    assert echoed.headers["x-frame-options"] == "DENY"
    assert echoed.headers["referrer-policy"] == "no-referrer"
    assert echoed.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


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


async def test_every_answer_varies_by_origin_once(database_url):
    """With an Origin or without, allowed or not, an answer says once that it varies by it.

    A request without an Origin skips the CORS layer; its `Vary: Origin` comes from
    RequestContext, so a cache never serves it to a browser's cross-origin request.
    """
    settings = make_settings(database_url, cors_allowed_origins="https://shop.example")
    async with serve(create_app(settings, owns_database=False)) as url, httpx.AsyncClient() as c:
        answers = {
            origin: await c.post(
                f"{url}/graphql",
                content=TYPENAME,
                headers={
                    "content-type": "application/json",
                    **({"origin": origin} if origin else {}),
                },
            )
            for origin in (None, "https://shop.example", "https://evil.example")
        }
    assert {origin: a.headers.get_list("vary") for origin, a in answers.items()} == {
        None: ["Origin"],
        "https://shop.example": ["Origin"],
        "https://evil.example": ["Origin"],
    }
    assert answers["https://shop.example"].headers["access-control-allow-origin"] == (
        "https://shop.example"
    )
    assert answers["https://shop.example"].headers["access-control-expose-headers"] == (
        "x-request-id"
    )
    assert "access-control-allow-origin" not in answers[None].headers
    assert "access-control-allow-origin" not in answers["https://evil.example"].headers


@pytest.mark.parametrize("origin", [None, "https://shop.example"])
async def test_an_answers_own_vary_keeps_its_values_and_gains_origin(origin):
    """An endpoint's own Vary is joined with Origin into one header, as Starlette's CORS does."""

    async def varying(scope, receive, send):
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"vary", b"Accept")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    app = RequestContext(
        CrossOrigin(varying, allow_origins=["https://shop.example"]), production=False
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        response = await c.get("/", headers={"origin": origin} if origin else {})
    assert response.headers.get_list("vary") == ["Accept, Origin"]
