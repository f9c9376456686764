"""Bearer-token authentication, scopes and owner scoping over HTTP."""

import time

import jwt
import pytest

from models.payment import Payment
from tests.graph.charging import REFUND, charge
from tests.support import TEST_JWT_SECRET, error_codes, graphql, new_subject, token

PAYMENT = "query($id: ID!) { payment(id: $id) { id customerId } }"
CHARGE = """mutation($input: ChargePaymentInput!) {
  chargePayment(input: $input, idempotencyKey: "auth-key") {
    payment { id customerId }
    errors { code }
  }
}"""


async def _charge(http, sub: str, **extra) -> dict:
    charge_input = {
        "orderId": "o-auth",
        "amount": 1000,
        "currency": "USD",
        "paymentMethodId": "pm_card_visa",
        **extra,
    }
    body = await graphql(http, CHARGE, {"input": charge_input}, bearer=token(sub))
    return body["data"]["chargePayment"]["payment"]


def _signed(claims: dict, secret: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


@pytest.mark.parametrize(
    "bearer",
    [
        None,
        "not-a-jwt",
        _signed({"sub": "x", "scope": "payments:read"}),  # no exp
        _signed({"sub": "x", "scope": "payments:read", "exp": int(time.time()) - 10}),
        _signed(
            {"sub": "x", "scope": "payments:read", "exp": int(time.time()) + 60}, "wrong-secret"
        ),
        jwt.encode(
            {"sub": "x", "scope": "payments:read", "exp": int(time.time()) + 60}, None, "none"
        ),
    ],
    ids=["missing", "garbage", "no-exp", "expired", "wrong-secret", "alg-none"],
)
async def test_bad_tokens_are_unauthenticated(http, bearer):
    """Missing, malformed, expired, unsigned or wrongly signed tokens read as UNAUTHENTICATED."""
    body = await graphql(http, PAYMENT, {"id": "pay_x"}, bearer=bearer)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] == {"payment": None}


@pytest.mark.parametrize("scope", ["payments:read", "payments:read payments:admin"])
async def test_missing_scope_is_forbidden(http, scope):
    """A token without payments:write (admin or not) cannot charge: FORBIDDEN, nothing created."""
    sub = new_subject()
    body = await graphql(
        http,
        CHARGE,
        {
            "input": {
                "orderId": "o",
                "amount": 1000,
                "currency": "USD",
                "paymentMethodId": "pm_card_visa",
            }
        },
        bearer=token(sub, scope=scope),
    )
    assert error_codes(body) == ["FORBIDDEN"]
    listing = await graphql(http, "{ payments { edges { node { id } } } }", bearer=token(sub))
    assert listing["data"]["payments"]["edges"] == []


async def test_other_customers_payment_reads_as_null(http):
    """A non-admin principal sees another customer's payment as null, never as forbidden."""
    owner, stranger = new_subject(), new_subject()
    payment = await _charge(http, owner)
    as_owner = await graphql(http, PAYMENT, {"id": payment["id"]}, bearer=token(owner))
    as_stranger = await graphql(http, PAYMENT, {"id": payment["id"]}, bearer=token(stranger))
    assert as_owner["data"]["payment"]["id"] == payment["id"]
    assert as_stranger == {"data": {"payment": None}}


async def test_non_admin_cannot_charge_for_someone_else(http):
    """A customerId that is not the caller's own sub is ignored for non-admins."""
    sub = new_subject()
    payment = await _charge(http, sub, customerId="somebody-else")
    assert payment["customerId"] == sub


async def test_admin_reads_every_payment_and_filters_by_customer(http):
    """payments:admin may read any payment and list by customerId."""
    owner = new_subject()
    payment = await _charge(http, owner)
    admin = token(new_subject(), scope="payments:read payments:admin")
    single = await graphql(http, PAYMENT, {"id": payment["id"]}, bearer=admin)
    listing = await graphql(
        http,
        "query($c: String) { payments(filter: {customerId: $c}) { nodes { id customerId } } }",
        {"c": owner},
        bearer=admin,
    )
    assert single["data"]["payment"]["customerId"] == owner
    assert [p["id"] for p in listing["data"]["payments"]["nodes"]] == [payment["id"]]


async def test_issuer_and_audience_are_checked_when_configured(database_url):
    """With JWT_ISSUER/JWT_AUDIENCE set, tokens for another issuer or audience are refused."""
    from app.wiring import build_verifier
    from payments.shared.auth import issue_token
    from payments.shared.errors import Unauthenticated
    from tests.conftest import make_settings

    settings = make_settings(database_url, jwt_issuer="https://issuer", jwt_audience="payments")
    verifier = build_verifier(settings)
    good = issue_token(TEST_JWT_SECRET, "s", issuer="https://issuer", audience="payments")
    wrong_iss = issue_token(TEST_JWT_SECRET, "s", issuer="https://evil", audience="payments")
    wrong_aud = issue_token(TEST_JWT_SECRET, "s", issuer="https://issuer", audience="other")
    assert (await verifier.authenticate(f"Bearer {good}")).sub == "s"
    for bad in (wrong_iss, wrong_aud):
        with pytest.raises(Unauthenticated):
            await verifier.authenticate(f"Bearer {bad}")


@pytest.mark.parametrize(
    "scope", ["payments:read payments:write", "payments:read payments:write payments:admin"]
)
async def test_refund_needs_the_refund_scope(http, scope):
    """Without payments:refund (admin or not) a refund is FORBIDDEN and nothing is refunded."""
    sub = new_subject()
    payment = (await charge(http, sub))["payment"]
    variables = {"input": {"paymentId": payment["id"], "amount": 100}, "key": "no-scope"}
    body = await graphql(http, REFUND, variables, bearer=token(sub, scope=scope))
    assert error_codes(body) == ["FORBIDDEN"]
    assert (await Payment.get(customer_id=sub)).amount_refunded == 0


async def test_a_remembered_token_still_expires(database_url, monkeypatch):
    """A verified token is not checked again on its next call, yet stops working at its exp."""
    from app.wiring import build_verifier
    from payments.shared.errors import Unauthenticated
    from tests.conftest import make_settings

    verifier = build_verifier(make_settings(database_url))
    exp = int(time.time()) + 30
    bearer = f"Bearer {_signed({'sub': 's', 'scope': 'payments:read', 'exp': exp})}"
    assert (await verifier.authenticate(bearer)).sub == "s"
    decodes = []

    def expired(*args, **kwargs):
        decodes.append(args)
        raise jwt.ExpiredSignatureError("Signature has expired")

    monkeypatch.setattr(jwt, "decode", expired)
    assert (await verifier.authenticate(bearer)).sub == "s"
    assert decodes == []
    monkeypatch.setattr(time, "time", lambda: exp + 1.0)
    with pytest.raises(Unauthenticated):
        await verifier.authenticate(bearer)
    assert len(decodes) == 1
