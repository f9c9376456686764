"""Event endpoints in GraphQL: the admin registry of where payment events go."""
