"""The simulated gateway's 3-D Secure page, driven over HTTP as a browser drives it."""

import asyncio
import re
import shutil
from urllib.parse import quote

import httpx
import pytest

from tests.graph.charging import charge_input
from tests.graph.lifecycle import call, create_intent
from tests.support import graphql, new_subject, token
from tests.webhooks.factories import eventually

PAYMENT = """query($id: ID!) { payment(id: $id) {
  status failureCode amountCaptured amountCapturable version events { status source } } }"""
AUTHENTICATION_REQUIRED = "pm_card_authenticationRequired"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _page_path(client_secret: str) -> str:
    return f"/simulated/3d-secure?client_secret={quote(client_secret)}"


async def _challenged(
    http, sub: str, flow: str, *, confirmed_with: dict | None = None, **fields
) -> dict:
    """A REQUIRES_ACTION payment made by chargePayment or by confirming an intent.

    `confirmed_with`: further fields of the intent's confirmPayment input (its returnUrl).
    """
    if flow == "charge":
        payload = await call(
            http,
            sub,
            "chargePayment",
            **charge_input(paymentMethodId=AUTHENTICATION_REQUIRED) | fields,
        )
    else:
        intent = (await create_intent(http, sub, **fields))["payment"]
        payload = await call(
            http,
            sub,
            "confirmPayment",
            paymentId=intent["id"],
            paymentMethodId=AUTHENTICATION_REQUIRED,
            **(confirmed_with or {}),
        )
    payment = payload["payment"]
    assert payment["status"] == "REQUIRES_ACTION" and payment["clientSecret"], payload
    return payment


async def _settled(http, sub: str, payment_id: str) -> dict:
    """The payment once the gateway's webhook has moved it out of REQUIRES_ACTION."""
    seen: dict = {}

    async def moved() -> bool:
        body = await graphql(http, PAYMENT, {"id": payment_id}, bearer=token(sub))
        seen.update(body["data"]["payment"])
        return seen["status"] != "REQUIRES_ACTION"

    await eventually(moved)
    return seen


async def _click(http, client_secret: str, decision: str):
    """The form as the browser submits it when a button is clicked."""
    return await http.post(
        _page_path(client_secret),
        content=f"decision={decision}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


@pytest.mark.parametrize(
    ("flow", "decision", "status", "failure_code"),
    [
        ("charge", "complete", "SUCCEEDED", None),
        ("charge", "fail", "FAILED", "payment_intent_authentication_failure"),
        ("intent", "complete", "SUCCEEDED", None),
        ("intent", "fail", "REQUIRES_PAYMENT_METHOD", "payment_intent_authentication_failure"),
    ],
)
async def test_the_page_completes_or_fails_the_authentication_by_webhook(
    http, worker, flow, decision, status, failure_code
):
    """The clientSecret's page shows both buttons; a click moves the payment as Stripe's would."""
    sub = new_subject()
    payment = await _challenged(http, sub, flow)
    page = await http.get(_page_path(payment["clientSecret"]))
    buttons = re.findall(r'<button type="submit" name="decision" value="(\w+)">(\w+)<', page.text)
    answered = await _click(http, payment["clientSecret"], decision)
    settled = await _settled(http, sub, payment["id"])
    assert page.status_code == 200 and payment["id"] in page.text
    assert buttons == [("complete", "Complete"), ("fail", "Fail")]
    assert answered.status_code == 200 and "Authentication" in answered.text
    assert (settled["status"], settled["failureCode"]) == (status, failure_code)
    assert settled["events"][-1] == {"status": status, "source": "WEBHOOK"}
    assert settled["amountCaptured"] == (payment["amount"] if status == "SUCCEEDED" else 0)


async def test_a_completed_authentication_of_a_manual_capture_holds_the_funds(http, worker):
    """Completing 3-D Secure on a MANUAL charge ends AUTHORIZED, capturable in full."""
    sub = new_subject()
    payment = await _challenged(http, sub, "charge", captureMethod="MANUAL", amount=4200)
    await _click(http, payment["clientSecret"], "complete")
    settled = await _settled(http, sub, payment["id"])
    assert (settled["status"], settled["amountCapturable"]) == ("AUTHORIZED", 4200)


async def test_each_attempt_is_answered_anew_until_another_method_pays(http, worker):
    """A second 3-D Secure try fails on its own (not taken for the first); then a card pays."""
    sub = new_subject()
    payment = await _challenged(http, sub, "intent")
    for attempt in range(2):
        if attempt:
            again = await call(
                http,
                sub,
                "confirmPayment",
                paymentId=payment["id"],
                paymentMethodId=AUTHENTICATION_REQUIRED,
            )
            assert again["payment"]["status"] == "REQUIRES_ACTION", again
        await _click(http, payment["clientSecret"], "fail")
        failed = await _settled(http, sub, payment["id"])
        assert failed["status"] == "REQUIRES_PAYMENT_METHOD", failed
    retried = await call(
        http, sub, "confirmPayment", paymentId=payment["id"], paymentMethodId="pm_card_visa"
    )
    assert retried["payment"]["status"] == "SUCCEEDED", retried
    assert [e["status"] for e in failed["events"]].count("REQUIRES_PAYMENT_METHOD") == 3


async def test_the_first_answer_stands_and_a_settled_payment_is_not_answered(http, worker):
    """A second click (even the other button) changes nothing; once moved, the page says so."""
    sub = new_subject()
    payment = await _challenged(http, sub, "charge")
    first = await _click(http, payment["clientSecret"], "complete")
    second = await _click(http, payment["clientSecret"], "fail")
    settled = await _settled(http, sub, payment["id"])
    late = await _click(http, payment["clientSecret"], "fail")
    page = await http.get(_page_path(payment["clientSecret"]))
    again = await _settled(http, sub, payment["id"])
    assert first.status_code == second.status_code == 200
    assert "Authentication completed" in second.text
    assert settled["status"] == "SUCCEEDED" and late.status_code == 409
    assert "<form" not in page.text and "nothing to authenticate" in page.text
    assert again["version"] == settled["version"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda secret: secret[:-1] + ("x" if secret[-1] != "x" else "y"),
        lambda secret: secret.split("_secret_")[0],
        lambda secret: secret + "\x00",
        lambda secret: "",
        lambda secret: secret + "a" * 300,
    ],
)
async def test_only_the_exact_client_secret_opens_the_page(http, mangle):
    """A guessed, cut, NUL-carrying, over-long or missing secret is no payment: 404, GET or POST."""
    payment = await _challenged(http, new_subject(), "charge")
    wrong = mangle(payment["clientSecret"])
    shown = await http.get(_page_path(wrong))
    answered = await _click(http, wrong, "complete")
    assert shown.status_code == answered.status_code == 404
    assert payment["id"] not in shown.text + answered.text


async def test_an_unknown_decision_or_an_oversized_form_is_refused(http):
    """Only Complete or Fail is an answer; a body past the form's size is 413, unread."""
    payment = await _challenged(http, new_subject(), "charge")
    unknown = await _click(http, payment["clientSecret"], "approve")
    oversized = await _click(http, payment["clientSecret"], "complete&pad=" + "x" * 4096)
    assert (unknown.status_code, oversized.status_code) == (400, 413)
    page = await http.get(_page_path(payment["clientSecret"]))
    assert "REQUIRES_ACTION" in page.text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
async def test_chromium_renders_the_page_and_its_buttons_under_its_policy(server, http, tmp_path):
    """Headless Chromium shows both buttons of the page and reports no CSP violation."""
    payment = await _challenged(http, new_subject(), "charge")
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path}",
        "--enable-logging=stderr",
        "--dump-dom",
        server + _page_path(payment["clientSecret"]),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    dom, console = await asyncio.wait_for(process.communicate(), timeout=120)
    messages = [line for line in console.decode().splitlines() if ":CONSOLE" in line]
    assert not [m for m in messages if "Content Security Policy" in m], messages
    assert re.findall(rb'value="(\w+)">(\w+)</button>', dom) == [
        (b"complete", b"Complete"),
        (b"fail", b"Fail"),
    ]


@pytest.mark.parametrize(
    ("decision", "redirect_status", "status"),
    [("complete", "succeeded", "SUCCEEDED"), ("fail", "failed", "REQUIRES_PAYMENT_METHOD")],
)
async def test_an_answer_sends_the_browser_back_to_confirms_return_url(
    http, worker, decision, redirect_status, status
):
    """With confirm's returnUrl, the answer redirects there with Stripe's three parameters."""
    sub = new_subject()
    payment = await _challenged(
        http, sub, "intent", confirmed_with={"returnUrl": "https://shop.example/back?order=9"}
    )
    secret = payment["clientSecret"]
    answered = await _click(http, secret, decision)
    location = httpx.URL(answered.headers["location"])
    assert answered.status_code == 303
    assert (location.host, location.path) == ("shop.example", "/back")
    assert dict(location.params) == {
        "order": "9",
        "payment_intent": payment["providerPaymentId"],
        "payment_intent_client_secret": secret,
        "redirect_status": redirect_status,
    }
    assert (await _settled(http, sub, payment["id"]))["status"] == status


async def test_the_access_log_never_holds_the_client_secret(http, capsys):
    """The page's request is logged by its path: the secret, in the query, stays out of it."""
    payment = await _challenged(http, new_subject(), "charge")
    capsys.readouterr()
    await http.get(_page_path(payment["clientSecret"]))
    await _click(http, payment["clientSecret"], "fail")
    await asyncio.sleep(0.2)  # the access line is written once the response has gone out
    logged = capsys.readouterr().out
    assert logged.count("/simulated/3d-secure") == 2, logged
    assert payment["clientSecret"] not in logged
