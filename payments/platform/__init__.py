"""The process platform app/ and tasks/ wire up: database, logging, store availability."""
