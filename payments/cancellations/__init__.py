"""Canceling payments: cancelPayment and the sweep that voids lapsed authorizations."""
