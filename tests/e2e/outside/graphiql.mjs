// GraphiQL in headless Chromium, offline: every request must stay on loopback.
// Usage: node graphiql.mjs http://127.0.0.1:8000/graphql out.png
// Loads the page with a query, runs it, waits for its result, takes a
// screenshot, and exits 1 if anything was asked of a host beyond loopback,
// an asset failed, or the result never showed.
import puppeteer from "puppeteer-core";

const [url, screenshot = "graphiql.png"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node graphiql.mjs <graphql url> [screenshot.png]");
  process.exit(2);
}
const QUERY = `# Run by .ci/run in headless Chromium
{
  insurancePlans(search: "Aetna") { name payer }
  providers(first: 2) {
    edges { node { name credentials licensedStates } }
  }
}`;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    // Belt and braces: a host other than loopback does not even resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const outside = [];
const failed = [];
let verdict = 1;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const target = new URL(request.url());
    const local = target.protocol === "data:" || LOOPBACK.has(target.hostname);
    if (local) return request.continue();
    outside.push(request.url());
    return request.abort("blockedbyclient");
  });
  page.on("requestfailed", (request) => {
    if (!outside.includes(request.url())) {
      failed.push(`${request.url()} (${request.failure()?.errorText})`);
    }
  });
  page.on("response", (response) => {
    if (response.status() >= 400) failed.push(`${response.url()} ${response.status()}`);
  });

  await page.goto(`${url}?q=${encodeURIComponent(QUERY)}`, {
    waitUntil: "networkidle0",
    timeout: 60_000,
  });
  await page.waitForSelector(".graphiql-execute-button", { timeout: 30_000 });
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    () => {
      const result = document.querySelector(".result-window");
      return result && result.innerText.includes('"insurancePlans"');
    },
    { timeout: 30_000 },
  );
  const result = await page.$eval(".result-window", (node) => node.innerText);
  await page.screenshot({ path: screenshot });

  const plans = (result.match(/"payer"/g) || []).length;
  console.log(`graphiql: page rendered, query ran, ${plans} plans in the result`);
  console.log(`graphiql: screenshot ${screenshot}`);
  verdict = outside.length || failed.length || result.includes('"errors"') ? 1 : 0;
} catch (error) {
  console.error(`graphiql: ${error.message}`);
} finally {
  await browser.close();
}
for (const request of outside) console.log(`OUTSIDE ${request}`);
for (const request of failed) console.log(`FAILED ${request}`);
console.log(
  `graphiql: ${outside.length} requests beyond loopback, ${failed.length} failed`,
);
process.exit(verdict);
