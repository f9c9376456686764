"""The simulated gateway: a test-card provider in this process, for development and tests."""
