"""GraphQL of captures: capturePayment."""
