"""Bank transfers: the customer's balance a transfer funds, and the test bank that funds it."""
