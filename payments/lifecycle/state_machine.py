"""The one table of allowed payment status moves."""

from models.enums import PaymentStatus as S

# Moves only go forward, so duplicate and out-of-order gateway events converge:
# terminal states are absorbing and refunds only accumulate.
ALLOWED_MOVES: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.PROCESSING, S.REQUIRES_ACTION, S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.REQUIRES_ACTION: frozenset({S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.SUCCEEDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    # A further partial refund is a change too (the refunded amount grows).
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
    S.REFUNDED: frozenset(),
}

REFUNDABLE = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED})


def can_move(current: S, target: S) -> bool:
    return target in ALLOWED_MOVES[current]


def captures_after_terminal(current: S, reported: S) -> bool:
    """A success reported for a payment we closed as FAILED or CANCELED: needs a human."""
    return current in (S.FAILED, S.CANCELED) and reported is S.SUCCEEDED


def status_after_refunds(amount: int, amount_refunded: int) -> S:
    return S.REFUNDED if amount_refunded >= amount else S.PARTIALLY_REFUNDED
