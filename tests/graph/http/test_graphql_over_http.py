"""GraphQL over HTTP: graphql-http's audit, media types, request errors, subscriptions over HTTP."""

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from app.factory import create_app
from graph.http.media_types import GRAPHQL_RESPONSE_JSON, JSON, response_media_type
from tests.conftest import make_settings
from tests.graph.charging import charge_input
from tests.support import error_codes, new_subject, serve, token

AUDIT_SECONDS = 120
PAYMENT = "query($id: ID!) { payment(id: $id) { id } }"
SUBSCRIPTION = "subscription { paymentsUpdated { id } }"


async def run_audit(reference_clients: Path, url: str, bearer: str) -> list[dict[str, Any]]:
    """graphql-http's auditServer against `url`, each request with `bearer`; its results."""
    process = await asyncio.create_subprocess_exec(
        "node",
        "graphql_http_audit.mjs",
        url,
        cwd=reference_clients,
        env={"PATH": os.environ["PATH"], "AUDIT_BEARER": bearer},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), AUDIT_SECONDS)
    assert process.returncode == 0, stderr.decode()
    results: list[dict[str, Any]] = json.loads(stdout)
    return results


async def test_graphql_http_audit_passes_every_must_and_should(server, reference_clients):
    """graphql-http's auditServer finds every MUST and SHOULD item of the spec kept."""
    results = await run_audit(reference_clients, f"{server}/graphql", token(new_subject()))
    required = [r for r in results if r["name"].startswith(("MUST", "SHOULD"))]
    failed = {r["name"]: (r["reason"], r["response"]) for r in required if r["status"] != "ok"}
    assert len(required) == 36  # 13 MUST and 23 SHOULD in graphql-http 1.22
    assert failed == {}


async def post(
    http: Any, document: str, variables: dict[str, Any] | None = None, **headers: str
) -> Any:
    """POST `document` as JSON with a customer's token and `headers`; the raw response."""
    return await http.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={"authorization": f"Bearer {token(new_subject())}", **headers},
    )


REQUEST_ERRORS = {
    "parse": ("{ payment(id: ", None, "GRAPHQL_VALIDATION_FAILED"),
    "validation": ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
    "coercion": (PAYMENT, {"id": None}, "BAD_USER_INPUT"),
    "wrong-shape": (
        "mutation($input: ChargePaymentInput!) "
        '{ chargePayment(input: $input, idempotencyKey: "k") { payment { id } } }',
        {"input": {**charge_input(), "orderID": "typo"}},
        "BAD_USER_INPUT",
    ),
    "depth": ("{ payments { nodes { " * 6 + "id" + " } }" * 6, None, "GRAPHQL_VALIDATION_FAILED"),
}


@pytest.mark.parametrize(
    ("document", "variables", "code"), REQUEST_ERRORS.values(), ids=REQUEST_ERRORS
)
async def test_request_errors_are_400_without_data_under_the_graphql_response_type(
    http, document, variables, code
):
    """Unparsable, invalid or ill-fitting requests are 400s without data in the new type."""
    response = await post(http, document, variables, accept=GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    body = response.json()
    assert "data" not in body
    assert error_codes(body) == [code] * len(body["errors"])


@pytest.mark.parametrize("accept", [JSON, "*/*", None])
@pytest.mark.parametrize(
    ("document", "variables", "code"), REQUEST_ERRORS.values(), ids=REQUEST_ERRORS
)
async def test_request_errors_stay_200_with_null_data_for_json_clients(
    http, accept, document, variables, code
):
    """Clients asking for application/json (or anything, or nothing) get 200 and `data: null`."""
    headers = {} if accept is None else {"accept": accept}
    response = await post(http, document, variables, **headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json()["data"] is None
    assert code in error_codes(response.json())


async def test_execution_errors_stay_200_with_data_under_the_graphql_response_type(http):
    """A field that fails while executing (here: no token) is 200 with its data entry."""
    response = await http.post(
        "/graphql",
        json={"query": PAYMENT, "variables": {"id": "pay_x"}},
        headers={"accept": GRAPHQL_RESPONSE_JSON},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert response.json()["data"] == {"payment": None}
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


async def test_a_rate_limit_refusal_stays_200_with_data_under_the_graphql_response_type(
    database_url,
):
    """Our own refusal before execution is no request error: 200, `data: null`, RATE_LIMITED."""
    settings = make_settings(database_url, rate_limit_default="1/minute")
    headers = {"accept": GRAPHQL_RESPONSE_JSON, "authorization": f"Bearer {token(new_subject())}"}
    query = {"query": "{ payments { nodes { id } } }"}
    app = create_app(settings, owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        first = await client.post("/graphql", json=query, headers=headers)
        refused = await client.post("/graphql", json=query, headers=headers)
    assert (first.status_code, error_codes(first.json())) == (200, [])
    assert refused.status_code == 200
    assert refused.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert refused.json()["data"] is None
    assert error_codes(refused.json()) == ["RATE_LIMITED"]


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b'{"query": "{ __typename }", "x": "' + b"a" * 70_000 + b'"}', 413),
        (b'[{"query": "{ __typename }"}]', 400),
        (b'{ "not a JSON', 400),
    ],
    ids=["too-large", "batch", "not-json"],
)
async def test_refused_bodies_answer_in_the_accepted_media_type(http, content, status):
    """The body-size, batching and JSON checks still refuse; in the new type, without data."""
    response = await http.post(
        "/graphql",
        content=content,
        headers={"content-type": "application/json", "accept": GRAPHQL_RESPONSE_JSON},
    )
    assert response.status_code == status
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert "data" not in response.json()
    assert error_codes(response.json()) == ["BAD_REQUEST"]


class _Collected(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


@contextmanager
def errors_logged() -> Iterator[list[str]]:
    """What is logged at ERROR meanwhile, through structlog or the standard library.

    Both: structlog prints directly unless a CLI in the session routed it to logging.
    """
    found: list[str] = []
    handler = _Collected(found)
    logging.getLogger().addHandler(handler)
    try:
        with structlog.testing.capture_logs() as events:
            yield found
    finally:
        logging.getLogger().removeHandler(handler)
    found.extend(str(e) for e in events if e["log_level"] in {"error", "critical", "exception"})


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE_JSON])
async def test_subscription_over_http_post_is_a_clear_400(http, accept):
    """A POSTed subscription (as GraphiQL may send) is a 400 naming the WebSocket; no ERROR."""
    with errors_logged() as errors:
        response = await post(http, SUBSCRIPTION, accept=accept)
    assert errors == []
    assert response.status_code == 400
    assert response.headers["content-type"] == accept
    body = response.json()
    assert error_codes(body) == ["BAD_REQUEST"]
    assert "graphql-transport-ws" in body["errors"][0]["message"]


async def test_subscription_over_http_get_is_the_same_400(http):
    """GET, which Strawberry also allows for subscriptions, gets the same answer."""
    with errors_logged() as errors:
        response = await http.get("/graphql", params={"query": SUBSCRIPTION})
    assert errors == []
    assert response.status_code == 400
    assert "graphql-transport-ws" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("text/html", JSON),
        ("application/json", JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json", GRAPHQL_RESPONSE_JSON),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/json, application/graphql-response+json;q=0.9", JSON),
        ("application/graphql-response+json;q=0, */*", JSON),
        ("application/graphql-response+json;q=oops", JSON),
        ("application/graphql-response+json;q=0.5, */*;q=0.1", GRAPHQL_RESPONSE_JSON),
    ],
)
def test_response_media_type_follows_the_accept_header(accept, expected):
    """Only clients naming the new type, at least as preferred as application/json, get it."""
    assert response_media_type(accept) == expected
