"""Client-confirmed payments: createPaymentIntent and confirmPayment."""
