"""The simulated gateway's 3-D Secure page: the challenge a client secret leads to, answered."""

import hmac
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from models.enums import PaymentStatus
from models.payment import Payment
from payments.gateways.simulated.gateway import Authentication, SimulatedGateway
from payments.shared.errors import NotFound
from payments.shared.input_rules import could_be_id

# Stripe's client secrets are "<intent id>_secret_<random>"; the simulated ones too.
_SECRET_MARK = "_secret_"


@dataclass(frozen=True)
class Challenge:
    """A payment whose client secret was presented, as the authentication page shows it."""

    payment_id: str
    amount: int
    currency: str
    status: PaymentStatus
    # The answer this attempt has (None before one was given or once the payment moved on).
    completed: bool | None = None
    # Where the browser goes once answered: confirm's returnUrl with Stripe's parameters.
    return_url: str | None = None

    @property
    def awaiting(self) -> bool:
        return self.status is PaymentStatus.REQUIRES_ACTION


async def find_challenge(client_secret: str) -> Challenge:
    """The payment `client_secret` belongs to; NotFound for any other string."""
    payment = await _payment_of(client_secret)
    return Challenge(payment.id, payment.amount, payment.currency, payment.status)


async def answer_challenge(
    gateway: SimulatedGateway, client_secret: str, completed: bool
) -> Challenge:
    """Complete or fail the customer's authentication, as Stripe's test-mode page does.

    Only a REQUIRES_ACTION payment is answered; the payment then moves when the gateway's
    signed webhook is processed, as every gateway outcome does. The first answer to an
    attempt stands. Raises NotFound for a secret that is no payment's.
    """
    payment = await _payment_of(client_secret)
    challenge = Challenge(payment.id, payment.amount, payment.currency, payment.status)
    if not challenge.awaiting:
        return challenge
    decided = gateway.authenticate(
        Authentication(
            provider_payment_id=payment.provider_payment_id or "",
            payment_id=payment.id,
            amount=payment.amount,
            currency=payment.currency,
            capture_method=payment.capture_method,
            attempt=str(payment.version),
            completed=completed,
        )
    )
    return_url = gateway.return_urls.get(payment.provider_payment_id or "")
    return Challenge(
        payment.id,
        payment.amount,
        payment.currency,
        payment.status,
        decided,
        _returning(return_url, client_secret, decided) if return_url else None,
    )


def _returning(return_url: str, client_secret: str, completed: bool) -> str:
    """The returnUrl with the parameters Stripe adds when it sends the customer back."""
    parts = urlsplit(return_url)
    added = urlencode(
        {
            "payment_intent": client_secret.partition(_SECRET_MARK)[0],
            "payment_intent_client_secret": client_secret,
            "redirect_status": "succeeded" if completed else "failed",
        }
    )
    return urlunsplit(parts._replace(query=f"{parts.query}&{added}" if parts.query else added))


async def _payment_of(client_secret: str) -> Payment:
    provider_id, mark, _ = client_secret.partition(_SECRET_MARK)
    payment = None
    if mark and could_be_id(client_secret) and could_be_id(provider_id):
        payment = await Payment.filter(provider_payment_id=provider_id).first()
    # The secret is the browser's only credential: compare it in constant time.
    if payment is None or not hmac.compare_digest(
        (payment.client_secret or "").encode(), client_secret.encode()
    ):
        raise NotFound("Payment")
    return payment
