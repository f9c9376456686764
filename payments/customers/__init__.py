"""Customers and their saved payment methods: owner scoping, defaults, off-session charges."""
