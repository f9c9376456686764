"""GraphQL of refunds: the Refund type and the refundPayment mutation."""
