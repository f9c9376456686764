// Runs graphql-http's GraphQL-over-HTTP audit against a server and prints the results as JSON.
// Usage: node graphql_http_audit.mjs <url>; a bearer token in AUDIT_BEARER is sent on every request.
import { auditServer } from 'graphql-http';

const [url] = process.argv.slice(2);
const bearer = process.env.AUDIT_BEARER;

// The audit's requests carry no credentials; the wrapper adds them as a real client would.
async function fetchWithToken(input, init = {}) {
  const headers = new Headers(init.headers);
  if (bearer) headers.set('authorization', `Bearer ${bearer}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: fetchWithToken });
const report = await Promise.all(
  results.map(async (result) => ({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === 'ok' ? null : result.reason,
    response:
      result.status === 'ok'
        ? null
        : {
            status: result.response.status,
            contentType: result.response.headers.get('content-type'),
            body: await result.response.text().catch(() => null),
          },
  })),
);
process.stdout.write(JSON.stringify(report));
