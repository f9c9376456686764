"""Operations for payments:admin: stored Stripe events and outgoing deliveries, replay, redrive."""
