"""Capturing authorized payments: capturePayment."""
