"""Stand-ins for services that cannot run here (Stripe)."""
