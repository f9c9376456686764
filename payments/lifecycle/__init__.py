"""The payment state machine and the one function that applies a change."""
