// The operator dashboard and the customer portal, driven in headless Chromium
// against the real binary. Also saves the screenshots under docs/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ADMIN, browser, herald, receiver, repo } from "./harness.mjs";

const shots = join(repo, "docs", "screenshots");
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
let h, rx, chrome, acme, globex, globexEndpoint;

before(async () => {
  mkdirSync(shots, { recursive: true });
  rx = await receiver();
  h = await herald();
  chrome = await browser();
  await h.api("POST", "/api/v1/event-type", {
    name: "order.paid",
    description: "An order was paid in full.",
    schemas: { 1: { type: "object", properties: { order: { type: "string" }, amount: { type: "integer" } }, examples: [{ order: "ord_1", amount: 4200 }] } },
  });
  await h.api("POST", "/api/v1/event-type", { name: "order.refunded", description: "An order was refunded." });
  await h.api("POST", "/api/v1/event-type", { name: "invoice.issued", description: "An invoice was issued to the customer." });
  acme = await h.api("POST", "/api/v1/app", { name: "Acme Inc", uid: "acme" });
  globex = await h.api("POST", "/api/v1/app", { name: "Globex", uid: "globex" });
  globexEndpoint = await h.api("POST", `/api/v1/app/${globex.id}/endpoint`, { url: "https://globex.example/secret-hooks", description: "Globex only" });
});

after(async () => {
  await chrome?.close();
  await h?.stop();
  rx?.close();
});

async function signedIn(viewport = DESKTOP) {
  const context = await chrome.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${h.base}/`);
  assert.match(page.url(), /\/signin/);
  await page.fill("#token", ADMIN);
  await page.click("button.primary");
  await page.waitForURL(`${h.base}/`);
  return { context, page };
}

test("the vendored htmx is the npm package's file", () => {
  const sha = (p) => createHash("sha256").update(readFileSync(p)).digest("hex");
  const vendored = join(repo, "crates", "herald-dashboard", "assets", "vendor", "htmx.min.js");
  const npm = join(repo, "tests", "browser", "node_modules", "htmx.org", "dist", "htmx.min.js");
  assert.equal(sha(vendored), sha(npm));
});

test("a wrong admin token does not sign in, and pages need a session", async () => {
  const context = await chrome.newContext();
  const page = await context.newPage();
  const r = await page.goto(`${h.base}/apps`);
  assert.match(page.url(), /\/signin\?next=%2Fapps/);
  assert.equal(r.headers()["x-frame-options"], "DENY");
  await page.fill("#token", "not-the-token");
  await page.click("button.primary");
  await page.waitForSelector(".alert");
  assert.match(await page.textContent(".alert"), /not the admin token/);
  await context.close();
});

test("operator: create an endpoint, send a test event, watch the attempt, open it, resend it", async () => {
  const { context, page } = await signedIn();
  await page.click("nav >> text=Applications");
  await page.click("text=Acme Inc");
  await page.fill("#new-url", rx.url);
  await page.fill("#new-description", "Order sync");
  await page.check("input[name=event_types][value='order.paid']");
  await page.click("text=Add endpoint");
  await page.waitForSelector("text=Endpoint created.");
  assert.equal(await page.inputValue("#url"), rx.url);

  // The secret: revealed on request.
  await page.click("text=Reveal");
  assert.match(await page.inputValue("#secret"), /^whsec_/);

  await page.click("text=Send test event");
  await page.waitForSelector("text=Test event sent.");
  // The attempt appears without a reload (htmx polls the attempts section).
  const row = page.locator("#attempts tr.attempt").first();
  await row.waitFor({ timeout: 15000 });
  assert.match(await row.textContent(), /200/);
  assert.equal(rx.requests.length, 1);
  assert.ok(rx.requests[0].headers["webhook-signature"].startsWith("v1,"));

  // A few more messages so the overview has something to chart.
  for (let i = 0; i < 6; i++) {
    await h.api("POST", `/api/v1/app/${acme.id}/msg`, { eventType: "order.paid", eventId: `ord_${i}-paid`, payload: { order: `ord_${i}`, amount: 1000 + i } });
  }

  await page.screenshot({ path: join(shots, "endpoint.png"), fullPage: true });
  await row.locator("a").click();
  await page.waitForSelector("h1 >> text=order.paid");
  assert.match(await page.textContent("pre.json"), /"eventType": "order.paid"|"order"/);
  await page.locator("ul.attempts li").first().waitFor();
  assert.equal(await page.locator("ul.attempts li").count(), 1);
  await page.click("tr.destination button:has-text('Resend')");
  await page.waitForSelector("text=Message queued to be sent again.");
  await page.waitForFunction(() => document.querySelectorAll("ul.attempts li").length === 2, null, { timeout: 15000 });
  await page.locator("ul.attempts li details").first().evaluate((d) => (d.open = true));
  await page.screenshot({ path: join(shots, "message.png"), fullPage: true });
  // Each attempt shows the request it sent: the method and URL, Herald's headers.
  const msgId = new URL(page.url()).pathname.split("/").pop();
  const sent = page.locator("ul.attempts li").first();
  assert.equal(await sent.locator("p.request-line").textContent(), `POST ${rx.url}`);
  assert.match(await sent.locator("tr.request-header", { hasText: "webhook-id" }).textContent(), new RegExp(msgId));
  assert.match(await sent.locator("tr.request-header", { hasText: "webhook-signature" }).textContent(), /v1,/);

  // The message log lists them, live, and finds one by eventId.
  await page.goto(`${h.base}/messages`);
  await page.waitForSelector("tr.message");
  assert.ok((await page.locator("tr.message").count()) >= 7);
  await page.selectOption("select[name=app]", acme.id);
  await page.fill("input[name=q]", "ord_3-paid");
  await page.click("button:has-text('Filter')");
  await page.waitForFunction(() => document.querySelectorAll("tr.message").length === 1);
  await page.goto(`${h.base}/messages`);
  await page.screenshot({ path: join(shots, "messages.png"), fullPage: true });

  await page.goto(`${h.base}/`);
  await page.waitForSelector("svg.chart");
  await page.screenshot({ path: join(shots, "overview.png"), fullPage: true });
  await page.goto(`${h.base}/event-types`);
  await page.screenshot({ path: join(shots, "event-types.png"), fullPage: true });
  await context.close();

  const phone = await signedIn(PHONE);
  await phone.page.screenshot({ path: join(shots, "overview-phone.png"), fullPage: true });
  await phone.context.close();
});

test("portal: a link for one application manages it and cannot reach another's", async () => {
  const { context, page } = await signedIn();
  await page.goto(`${h.base}/apps/${acme.id}`);
  await page.click("text=Customer portal link");
  const link = await page.inputValue("#portal-url");
  assert.ok(link.startsWith(`${h.base}/portal/${acme.id}#key=appsk_`), link);
  await context.close();

  // A customer's browser: no operator session.
  const customer = await chrome.newContext({ viewport: DESKTOP });
  const p = await customer.newPage();
  const themed = link.replace("#", "?primary=%23c2410c&name=Acme%20Webhooks#");
  await p.goto(themed);
  await p.waitForSelector("h1 >> text=Endpoints");
  assert.equal(new URL(p.url()).hash, "", "the key is dropped from the address bar");
  assert.match(await p.textContent(".brand"), /Acme Webhooks/);
  assert.match(await p.textContent("main"), new RegExp(rx.url.replace(/[/.]/g, "\\$&")));
  assert.doesNotMatch(await p.content(), /globex\.example/);

  // Add an endpoint from the catalogue, see its secret.
  await p.fill("#new-url", "https://acme.example/portal-hook");
  await p.check("input[name=event_types][value='invoice.issued']");
  await p.click("text=Add endpoint");
  await p.waitForSelector("text=Endpoint created.");
  await p.click("text=Reveal");
  assert.match(await p.inputValue("#secret"), /^whsec_/);
  await p.click("nav >> text=Messages");
  await p.waitForSelector("tr.message");
  await p.locator("tr.message a").first().click();
  await p.waitForSelector("tr.destination");
  // The customer sees what each attempt sent too.
  const portalHeader = p.locator("ul.attempts li tr.request-header", { hasText: "webhook-id" }).first();
  await portalHeader.waitFor({ state: "attached" });
  assert.match(await portalHeader.textContent(), /msg_/);
  await p.goto(`${h.base}/portal/${acme.id}`);
  await p.screenshot({ path: join(shots, "portal.png"), fullPage: true });

  // Another application's pages: no session there, nothing of it shown.
  for (const path of [
    `/portal/${globex.id}`,
    `/portal/${globex.id}/endpoints/${globexEndpoint.id}`,
    `/portal/${globex.id}/messages`,
  ]) {
    const r = await p.request.get(h.base + path, { maxRedirects: 0 });
    assert.equal(r.status(), 401, path);
    assert.doesNotMatch(await r.text(), /globex\.example|Globex only/, path);
  }
  const post = await p.request.post(`${h.base}/portal/${globex.id}/endpoints/${globexEndpoint.id}/delete`, { form: { _csrf: "x" } });
  assert.equal(post.status(), 403);
  // The portal cookie replayed on another application's path is refused too.
  const cookie = (await customer.cookies()).find((c) => c.name === "herald_portal");
  const forged = await fetch(`${h.base}/portal/${globex.id}/endpoints/${globexEndpoint.id}`, { headers: { cookie: `herald_portal=${cookie.value}` } });
  assert.equal(forged.status, 401);
  assert.doesNotMatch(await forged.text(), /globex\.example/);
  // And the acme portal page names only acme's own endpoint ids.
  const other = await p.request.get(`${h.base}/portal/${acme.id}/endpoints/${globexEndpoint.id}`);
  assert.equal(other.status(), 404);
  await customer.close();

  const phone = await chrome.newContext({ viewport: PHONE });
  const pp = await phone.newPage();
  await pp.goto(themed);
  await pp.waitForSelector("h1 >> text=Endpoints");
  await pp.screenshot({ path: join(shots, "portal-phone.png"), fullPage: true });
  await phone.close();
});

test("operator: a source's ingest URL, what it received and what it refused", async () => {
  const { createHmac } = await import("node:crypto");
  const secret = "browser-test-github-secret";
  const source = await h.api("POST", "/api/v1/source", { name: "GitHub org", appId: acme.id, verifier: { type: "github", secret } });
  const body = JSON.stringify({ action: "opened", number: 7 });
  const post = (b, sig) => fetch(`${h.base}/in/${source.id}`, {
    method: "POST", body: b,
    headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": "d-1", "x-hub-signature-256": sig },
  });
  const good = await post(body, "sha256=" + createHmac("sha256", secret).update(body).digest("hex"));
  assert.equal(good.status, 200);
  const { id: msg } = await good.json();
  assert.equal((await post(body + " ", "sha256=" + createHmac("sha256", secret).update(body).digest("hex"))).status, 401);

  const { context, page } = await signedIn();
  await page.click("nav >> text=Sources");
  await page.waitForSelector("tr.source");
  await page.click("text=GitHub org");
  await page.waitForSelector("h1 >> text=Source GitHub org");
  assert.equal(await page.inputValue("#ingest-url"), `${h.base}/in/${source.id}`);
  assert.match(await page.textContent("#received"), new RegExp(msg));
  const refused = page.locator("li.rejection").first();
  assert.match(await refused.textContent(), /signature_mismatch/);
  await refused.locator("details").evaluate((d) => (d.open = true));
  assert.doesNotMatch(await page.content(), new RegExp(secret));
  await page.screenshot({ path: join(shots, "source.png"), fullPage: true });
  await page.locator("#received a").first().click();
  await page.waitForSelector("h1 >> text=pull_request.opened");
  await context.close();
});

test("operator: a transformation's dry run shows the request, and saving it changes what is sent", async () => {
  const hooks = await receiver();
  const ep = await h.api("POST", `/api/v1/app/${acme.id}/endpoint`, { url: hooks.url, description: "Transformed" });
  const { context, page } = await signedIn();
  await page.goto(`${h.base}/apps/${acme.id}/endpoints/${ep.id}`);
  await page.selectOption("#t-kind", "template");
  await page.fill("#t-code", '{"method": "PUT", "url": "{{ url }}/tx", "json": {"text": "{{ event_type }} {{ payload.order }}"}}');
  await page.fill("#t-event", "order.paid");
  await page.fill("#t-payload", '{"order": "ord_9"}');
  await page.click("#dry-run-button");
  await page.waitForSelector("#dry-run .badge.ok");
  const shown = await page.textContent("#dry-run");
  assert.match(shown, new RegExp(`PUT ${hooks.url}/tx`));
  assert.match(shown, /webhook-signature: v1,/);
  assert.match(shown, /"text":"order.paid ord_9"/);
  assert.equal(hooks.requests.length, 0, "a dry run sends nothing");

  // A template that does not compile: the engine's message, nothing saved.
  await page.fill("#t-code", '{"url": "{{ url "}');
  await page.click("#dry-run-button");
  await page.waitForSelector("#dry-run .badge.bad");

  await page.fill("#t-code", '{"method": "PUT", "url": "{{ url }}/tx", "json": {"text": "{{ event_type }} {{ payload.order }}"}}');
  await page.click("text=Save transformation");
  await page.waitForSelector("text=Changes saved.");
  assert.match(await page.inputValue("#t-code"), /"PUT"/);
  await h.api("POST", `/api/v1/app/${acme.id}/msg`, { eventType: "order.paid", payload: { order: "ord_10", amount: 1 } });
  for (let i = 0; i < 100 && hooks.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(hooks.requests.length, 1);
  assert.ok(hooks.requests[0].url.endsWith("/hooks/tx"), hooks.requests[0].url);
  assert.deepEqual(JSON.parse(hooks.requests[0].body), { text: "order.paid ord_10" });
  hooks.close();
  await context.close();
});
