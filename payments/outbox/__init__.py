"""Events out: the outbox relay's claims and signed delivery to the event endpoints."""
