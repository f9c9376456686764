"""`/simulated/3d-secure?client_secret=...`: the simulated gateway's 3-D Secure test page."""

from decimal import Decimal
from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from payments.gateways.base import Gateway
from payments.gateways.simulated.authentication import Challenge, answer_challenge, find_challenge
from payments.gateways.simulated.gateway import SimulatedGateway
from payments.shared.errors import NotFound
from payments.shared.money import CURRENCY_EXPONENTS
from webhooks.body import BodyTooLarge, read_bounded_body

# The client secret rides in the query, as on Stripe's page, so access logs of the path
# (RequestContext's) never hold it; the form posts back to the same URL.
AUTHENTICATION_PATH = "/simulated/3d-secure"
# The form holds one short field; anything longer is not this page's form.
FORM_MAX_BYTES = 1024
DECISIONS = {"complete": True, "fail": False}
NOTHING_TO_AUTHENTICATE = "<p>There is nothing to authenticate.</p>"
# No script runs here, the form posts only to this page, and no other site may frame it.
HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{color:#555}"
    "button{font-size:1rem;padding:.6rem 1.6rem;margin-right:.8rem;cursor:pointer}"
    ".note{color:#555;font-size:.9rem}"
)


def authentication_routes(gateway: Gateway) -> list[Route]:
    """The page and its form, served only when the simulated gateway moves the money."""
    if not isinstance(gateway, SimulatedGateway):
        return []
    simulated = gateway

    async def page(request: Request) -> Response:
        client_secret = request.query_params.get("client_secret", "")
        try:
            if request.method == "GET":
                return _render(_challenge_html(await find_challenge(client_secret)))
            decision = _decision(await read_bounded_body(request, FORM_MAX_BYTES))
            if decision is None:
                return _render("<h1>Choose Complete or Fail</h1>", 400)
            challenge = await answer_challenge(simulated, client_secret, decision)
        except NotFound:
            return _render("<h1>No such payment</h1><p>This link matches no payment.</p>", 404)
        except BodyTooLarge:
            return _render("<h1>Not this page's form</h1>", 413)
        return _answered(challenge)

    return [Route(AUTHENTICATION_PATH, page, methods=["GET", "POST"])]


def _decision(form: bytes) -> bool | None:
    """Complete (True) or Fail (False), as the clicked button posted it; None for anything else."""
    return DECISIONS.get(posted_decision(form))


def posted_decision(form: bytes) -> str:
    """The `decision` field of a posted form (the clicked button's value); "" if none."""
    return parse_qs(form.decode("latin-1")).get("decision", [""])[0]


def _answered(challenge: Challenge) -> Response:
    """Back to the returnUrl, as Stripe sends the browser; else the answer, or 409 if none."""
    if challenge.completed is not None and challenge.return_url is not None:
        return RedirectResponse(challenge.return_url, 303, HEADERS)
    return _render(_answered_html(challenge), 409 if challenge.completed is None else 200)


def _challenge_html(challenge: Challenge) -> str:
    if not challenge.awaiting:
        return _summary(challenge) + NOTHING_TO_AUTHENTICATE
    return (
        _summary(challenge)
        + '<form method="post">'
        + '<button type="submit" name="decision" value="complete">Complete</button>'
        + '<button type="submit" name="decision" value="fail">Fail</button></form>'
    )


def _answered_html(challenge: Challenge) -> str:
    if challenge.completed is None:
        return _summary(challenge) + NOTHING_TO_AUTHENTICATE
    if challenge.completed:
        told = "Authentication completed: the payment succeeds (or is authorized, for a manual "
        told += "capture) as soon as the gateway's webhook is processed."
    else:
        told = "Authentication failed: the payment needs another payment method (a payment "
        told += "made by chargePayment fails) as soon as the gateway's webhook is processed."
    # The status shown would be the one before the webhook: not worth showing.
    return _summary(challenge, with_status=False) + f"<p><strong>{told}</strong></p>"


def _summary(challenge: Challenge, *, with_status: bool = True) -> str:
    amount = major_units(challenge.amount, challenge.currency)
    return (
        "<h1>3-D Secure authentication</h1>"
        '<p class="note">Simulated gateway: this page plays the cardholder\'s bank, as '
        "Stripe's test mode does. Complete or fail the authentication.</p>"
        f"<dl><dt>Payment</dt><dd>{escape(challenge.payment_id)}</dd>"
        f"<dt>Amount</dt><dd>{amount} {escape(challenge.currency)}</dd>"
        + (f"<dt>Status</dt><dd>{challenge.status.value}</dd>" if with_status else "")
        + "</dl>"
    )


def major_units(amount: int, currency: str) -> str:
    """`1050` USD as `10.50`: the amount as a buyer reads it."""
    exponent = CURRENCY_EXPONENTS.get(currency.upper(), 2)
    return f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"


def _render(content: str, status_code: int = 200) -> HTMLResponse:
    return render_page("3-D Secure test page", content, status_code)


def render_page(title: str, content: str, status_code: int = 200) -> HTMLResponse:
    """A simulated provider's page: no script, no framing, posting only to itself."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{content}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)
