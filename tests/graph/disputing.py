"""GraphQL documents and calls shared by the dispute tests."""

import uuid
from typing import Any

import httpx

from payments.shared.auth import ALL_SCOPES
from tests.support import graphql, token

DISPUTE_FIELDS = """id amount currency reason status evidenceDueBy providerDisputeId createdAt
  closedAt fundsWithdrawn fundsReinstated paymentId"""
PAYLOAD = f"""dispute {{ {DISPUTE_FIELDS} }}
    payment {{ id version disputed amountDisputed }}
    errors {{ code field message }}"""

DISPUTES = f"""
query($first: Int, $after: String, $filter: DisputeFilter) {{
  disputes(first: $first, after: $after, filter: $filter) {{
    edges {{ cursor node {{ {DISPUTE_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

SUBMIT_EVIDENCE = f"""
mutation($input: SubmitDisputeEvidenceInput!, $key: String!) {{
  submitDisputeEvidence(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""

ACCEPT = f"""
mutation($input: AcceptDisputeInput!, $key: String!) {{
  acceptDispute(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""

PAYMENT_DISPUTES = f"""
query($id: ID!) {{
  payment(id: $id) {{ id version disputed amountDisputed disputes {{ {DISPUTE_FIELDS} }} }}
}}"""

ADMIN = "disputes-back-office"


def admin_token() -> str:
    return token(ADMIN, ALL_SCOPES)


async def disputes_of(http: httpx.AsyncClient, payment_id: str) -> list[dict[str, Any]]:
    body = await graphql(http, PAYMENT_DISPUTES, {"id": payment_id}, bearer=admin_token())
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["payment"]["disputes"]
    return found


async def submit_evidence(
    http: httpx.AsyncClient,
    dispute_id: str,
    evidence: object,
    submit: bool = True,
    key: str | None = None,
    bearer: str | None = None,
) -> dict[str, Any]:
    """The whole answer to submitDisputeEvidence (an admin's, unless `bearer` says otherwise)."""
    variables = {
        "input": {"disputeId": dispute_id, "evidence": evidence, "submit": submit},
        "key": key or uuid.uuid4().hex,
    }
    return await graphql(http, SUBMIT_EVIDENCE, variables, bearer=bearer or admin_token())


async def accept(
    http: httpx.AsyncClient, dispute_id: str, key: str | None = None
) -> dict[str, Any]:
    variables = {"input": {"disputeId": dispute_id}, "key": key or uuid.uuid4().hex}
    return await graphql(http, ACCEPT, variables, bearer=admin_token())
