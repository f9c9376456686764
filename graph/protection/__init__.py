"""Guards on every operation: document limits and cache, labels and metrics, rate budgets."""
