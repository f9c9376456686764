"""GraphQL over HTTP: the view, its request guard and parsing, media types, early refusals."""
