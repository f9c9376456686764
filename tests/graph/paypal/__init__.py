"""PayPal through GraphQL against the fake PayPal, via the real SDK."""
