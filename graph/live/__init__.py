"""GraphQL subscriptions over graphql-transport-ws: paymentUpdated and paymentsUpdated."""
