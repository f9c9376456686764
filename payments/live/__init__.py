"""Live payment status: committed changes fanned in from Redis, ordered per subscriber."""
