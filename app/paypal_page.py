"""`/simulated/paypal/{orderId}`: the simulated PayPal's approval page, where the buyer decides."""

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app.authentication_page import (
    FORM_MAX_BYTES,
    HEADERS,
    major_units,
    posted_decision,
    render_page,
)
from payments.gateways.base import Gateway
from payments.gateways.simulated.paypal import (
    PAGE_PATH,
    BuyerDecision,
    SimulatedOrder,
    SimulatedPayPal,
)
from payments.shared.errors import NotFound
from webhooks.body import BodyTooLarge, read_bounded_body

TITLE = "Simulated PayPal"
BUTTONS = {
    BuyerDecision.APPROVE: "Approve",
    BuyerDecision.APPROVE_PENDING: "Approve (capture stays pending)",
    BuyerDecision.APPROVE_DECLINED: "Approve (card then declined)",
    BuyerDecision.CANCEL: "Cancel",
}
TOLD = {
    BuyerDecision.APPROVE: "Approved: the payment is captured (or authorized, for a manual "
    "capture) by confirmPayment or as soon as PayPal's webhook is processed.",
    BuyerDecision.APPROVE_PENDING: "Approved: the capture stays pending, then completes.",
    BuyerDecision.APPROVE_DECLINED: "Approved, but the buyer's card is declined at capture.",
    BuyerDecision.CANCEL: "Canceled: the buyer went back without paying.",
}


def simulated_paypal_routes(paypal: Gateway | None) -> list[Route]:
    """The page and its form, served only when the simulated PayPal moves PayPal's money."""
    if not isinstance(paypal, SimulatedPayPal):
        return []
    simulated = paypal

    async def page(request: Request) -> Response:
        order_id = request.path_params["order_id"]
        try:
            if request.method == "GET":
                return _render(_order_html(simulated.order(order_id)))
            decision = _decision(await read_bounded_body(request, FORM_MAX_BYTES))
            if decision is None:
                return _render("<h1>Choose one of the buttons</h1>", 400)
            order = simulated.decide(order_id, decision)
        except NotFound:
            return _render("<h1>No such order</h1><p>This link matches no PayPal order.</p>", 404)
        except BodyTooLarge:
            return _render("<h1>Not this page's form</h1>", 413)
        return _answered(order)

    return [Route(PAGE_PATH.replace("{order_id}", "{order_id:str}"), page, methods=["GET", "POST"])]


def _decision(form: bytes) -> BuyerDecision | None:
    try:
        return BuyerDecision(posted_decision(form))
    except ValueError:
        return None


def _answered(order: SimulatedOrder) -> Response:
    """Back to the return (or cancel) URL, as PayPal sends the buyer; else what happened."""
    if order.decision is None:
        return _render(_summary(order) + "<p>This order can no longer be approved.</p>", 409)
    back = order.cancel_url if order.decision is BuyerDecision.CANCEL else order.return_url
    if back is not None:
        return RedirectResponse(back, 303, HEADERS)
    return _render(_summary(order) + f"<p><strong>{TOLD[order.decision]}</strong></p>")


def _order_html(order: SimulatedOrder) -> str:
    if order.decision is not None or order.state.next_action is None:
        return _summary(order) + "<p>This order was already decided.</p>"
    buttons = "".join(
        f'<button type="submit" name="decision" value="{decision.value}">{label}</button>'
        for decision, label in BUTTONS.items()
    )
    return _summary(order) + f'<form method="post">{buttons}</form>'


def _summary(order: SimulatedOrder) -> str:
    return (
        "<h1>Pay with PayPal</h1>"
        '<p class="note">Simulated PayPal: this page plays the buyer at PayPal. Approving '
        "sends PayPal's signed CHECKOUT.ORDER.APPROVED webhook to this service.</p>"
        f"<dl><dt>Order</dt><dd>{escape(order.order_id)}</dd>"
        f"<dt>Payment</dt><dd>{escape(order.payment_id)}</dd>"
        f"<dt>Amount</dt><dd>{major_units(order.amount, order.currency)} "
        f"{escape(order.currency)}</dd></dl>"
    )


def _render(content: str, status_code: int = 200) -> HTMLResponse:
    return render_page(TITLE, content, status_code)
