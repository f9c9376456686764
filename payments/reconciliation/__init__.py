"""Finishing what a crash left pending by asking the gateway, never by charging again."""
