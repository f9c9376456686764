"""Disputes: records of chargebacks and inquiries, applied from provider reports, and answered."""
