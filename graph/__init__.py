"""The Strawberry GraphQL schema: types, queries, mutations, context and the ASGI view."""
