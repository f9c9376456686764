"""GraphQL of customers: Customer and PaymentMethod types, their queries and mutations."""
