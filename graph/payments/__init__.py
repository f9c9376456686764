"""GraphQL of payments: the Payment type and the queries that read it."""
