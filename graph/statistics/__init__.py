"""GraphQL for payment statistics: paymentStats."""
