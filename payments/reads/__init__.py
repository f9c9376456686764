"""Owner-scoped reads of payments and refunds, with cursors and batched children."""
