// Subscribes to messageAdded with the graphql-ws client (graphql-transport-ws)
// and prints one JSON line per event, so a test can read it from stdout.
//
//   node subscribe.mjs <ws-url> <token> <thread-id> <after-cursor> <count>
//
// Prints {"event":"connected"} once acknowledged, {"event":"message",...}
// per message (with the time it arrived, ms since the epoch), then exits 0
// after <count> messages; a refused or failed subscription exits 1.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, threadId, after, count] = process.argv.slice(2);
const wanted = Number(count);
const out = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  // The client retries even a 4403 close by default; a test wants to see it.
  retryAttempts: 0,
  lazy: false,
  on: { connected: () => out({ event: "connected" }) },
});

const query = `subscription Added($threadId: ID!, $after: String) {
  messageAdded(threadId: $threadId, after: $after) { body cursor sender { id } }
}`;

let seen = 0;
const finish = (code) => client.dispose().then(() => process.exit(code));

client.subscribe(
  { query, variables: { threadId, after: after || null } },
  {
    next: (result) => {
      if (result.errors) {
        out({ event: "error", errors: result.errors });
        finish(1);
        return;
      }
      const message = result.data.messageAdded;
      out({ event: "message", at: Date.now(), ...message });
      seen += 1;
      if (seen >= wanted) finish(0);
    },
    error: (error) => {
      const errors = Array.isArray(error) ? error : [{ message: String(error?.reason ?? error) }];
      out({ event: "error", errors });
      finish(1);
    },
    complete: () => finish(seen >= wanted ? 0 : 1),
  },
);

setTimeout(() => {
  out({ event: "timeout" });
  finish(2);
}, 30_000);
