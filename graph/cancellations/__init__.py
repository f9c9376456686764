"""GraphQL of cancellations: cancelPayment."""
