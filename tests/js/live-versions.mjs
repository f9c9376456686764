// graphql-ws's reference client subscribed to paymentsUpdated: one JSON line per push.
// Usage: node live-versions.mjs <ws://host:port/graphql> <bearer token>
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, bearer] = process.argv.slice(2);
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: { Authorization: `Bearer ${bearer}` },
  on: { connected: () => print({ connected: true }) },
});

client.subscribe(
  { query: 'subscription { paymentsUpdated { id version status amountRefunded amountRefundable } }' },
  {
    next: ({ data, errors }) => print(errors ? { errors } : data.paymentsUpdated),
    // A CloseEvent (code, reason) or an Error: either ends the script with a line saying which.
    error: (error) => {
      print({ error: { code: error?.code, reason: error?.reason ?? String(error) } });
      process.exit(1);
    },
    complete: () => process.exit(0),
  },
);
