"""The one table of allowed payment status moves."""

from models.enums import PaymentFlow, PaymentMethodType
from models.enums import PaymentStatus as S

# Moves only go forward, so duplicate and out-of-order gateway events converge:
# terminal states are absorbing and refunds only accumulate. The open states of a
# client-confirmed intent (REQUIRES_PAYMENT_METHOD, REQUIRES_ACTION, PROCESSING) may
# follow each other as the customer retries; events older than the last one applied
# are ignored there (transitions.py), which keeps those moves convergent too.
ALLOWED_MOVES: dict[S, frozenset[S]] = {
    S.PENDING: frozenset(
        {
            S.REQUIRES_PAYMENT_METHOD,
            S.PROCESSING,
            S.REQUIRES_ACTION,
            S.AUTHORIZED,
            S.SUCCEEDED,
            S.FAILED,
            S.CANCELED,
        }
    ),
    # A further decline is a change too (another failureCode) when it differs.
    S.REQUIRES_PAYMENT_METHOD: frozenset(
        {
            S.REQUIRES_PAYMENT_METHOD,
            S.PROCESSING,
            S.REQUIRES_ACTION,
            S.AUTHORIZED,
            S.SUCCEEDED,
            S.CANCELED,
        }
    ),
    # REQUIRES_ACTION again: a bank transfer funded in part (amountReceived grows).
    S.REQUIRES_ACTION: frozenset(
        {
            S.REQUIRES_PAYMENT_METHOD,
            S.REQUIRES_ACTION,
            S.PROCESSING,
            S.AUTHORIZED,
            S.SUCCEEDED,
            S.FAILED,
            S.CANCELED,
        }
    ),
    S.PROCESSING: frozenset(
        {S.REQUIRES_PAYMENT_METHOD, S.AUTHORIZED, S.SUCCEEDED, S.FAILED, S.CANCELED}
    ),
    # Captured (all or part, the rest released) or voided; nothing else.
    S.AUTHORIZED: frozenset({S.SUCCEEDED, S.CANCELED}),
    # SUCCEEDED again: a late capture event corrects the captured amount (partial capture).
    S.SUCCEEDED: frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    # A further partial refund is a change too (the refunded amount grows).
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
    S.REFUNDED: frozenset(),
}

REFUNDABLE = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED})
CAPTURED = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED})
# Statuses an event may move back into; only a newer event than the last one may.
REOPENABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_ACTION, S.PROCESSING})
CONFIRMABLE = frozenset({S.REQUIRES_PAYMENT_METHOD})
# A PayPal payment waits for the buyer's approval at PayPal; confirming then captures it.
APPROVABLE = frozenset({S.REQUIRES_ACTION})
CAPTURABLE = frozenset({S.AUTHORIZED})
CANCELABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_ACTION, S.AUTHORIZED})


def can_move(current: S, target: S) -> bool:
    return target in ALLOWED_MOVES[current]


def confirmable(method_type: PaymentMethodType) -> frozenset[S]:
    """The statuses a payment of `method_type` can be confirmed from."""
    return APPROVABLE if method_type is PaymentMethodType.PAYPAL else CONFIRMABLE


def target_for(flow: PaymentFlow, reported: S, method_type: PaymentMethodType) -> S:
    """Where a reported status leaves a payment: a decline of an intent waits for a new method.

    Not on PayPal: the buyer chose at PayPal, and a declined order starts a new payment.
    """
    if (
        reported is S.FAILED
        and flow is PaymentFlow.INTENT
        and method_type is not PaymentMethodType.PAYPAL
    ):
        return S.REQUIRES_PAYMENT_METHOD
    return reported


def captures_after_terminal(current: S, reported: S) -> bool:
    """Money taken for a payment we closed as FAILED or CANCELED: needs a human.

    A hold reported after our cancellation is only a late event (the void came later).
    """
    if current is S.FAILED and reported is S.AUTHORIZED:
        return True
    return current in (S.FAILED, S.CANCELED) and reported is S.SUCCEEDED


def status_after_refunds(amount_captured: int, amount_refunded: int) -> S:
    return S.REFUNDED if amount_refunded >= amount_captured else S.PARTIALLY_REFUNDED
