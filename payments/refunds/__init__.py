"""Refunds: input rules, the reserve-then-refund flow, and syncing refunds Stripe reports."""
