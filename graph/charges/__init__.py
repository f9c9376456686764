"""GraphQL of charging: the chargePayment mutation."""
