// The GraphQL-over-HTTP audit (npm graphql-http) against a running server.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
// Prints each warning and error; exits 1 when any audit is not ok: every
// one passes since we answer application/graphql-response+json (web/media.py).
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs <graphql url>");
  process.exit(2);
}

const results = await auditServer({ url });
const count = (status) => results.filter((r) => r.status === status).length;

for (const result of results) {
  if (result.status === "ok") continue;
  console.log(`${result.status.toUpperCase()} ${result.name}: ${result.reason}`);
}
const errors = count("error");
console.log(
  `graphql-http audit: ${results.length} checks, ${count("ok")} passed, ` +
    `${count("warn")} warned, ${count("notice")} notices, ${errors} errors`,
);
process.exit(errors === 0 && count("warn") === 0 ? 0 : 1);
