"""PayPal as a rail: Orders v2 and Payments v2 through the official SDK, and its webhook events."""
