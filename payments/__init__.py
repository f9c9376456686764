"""The core, one folder per domain; it imports no web, GraphQL or queue framework."""
