"""Event endpoints: the registry of where payment events go, each with its secret and filter."""
