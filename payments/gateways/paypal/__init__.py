"""PayPal's room: the verification of its webhook signatures and the reading of its events."""
