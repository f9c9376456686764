"""GraphQL of client-confirmed payments: createPaymentIntent and confirmPayment."""
