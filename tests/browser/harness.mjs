// Starts what the browser tests drive: a recording webhook receiver (a tiny node
// HTTP server), the real `herald` binary (debug build) on a free port with a temp
// data directory, and Debian's Chromium through playwright-core.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, "..", "..");
export const ADMIN = "hrld_browser_test_token";
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** A receiver that answers 200 and records every request. */
export async function receiver() {
  const requests = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      requests.push({ url: req.url, headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ received: true, at: requests.length }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/hooks`, requests, close: () => server.close() };
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The real binary on a fresh data directory; `stop()` ends it and removes the data. */
export async function herald() {
  const bin = process.env.HERALD_BIN || join(repo, "target", "debug", "herald");
  if (!existsSync(bin)) throw new Error(`no herald binary at ${bin}: run cargo build -p herald first`);
  const dataDir = mkdtempSync(join(tmpdir(), "herald-browser-"));
  const port = await freePort();
  const child = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir], {
    env: { ...process.env, HERALD_ADMIN_TOKEN: ADMIN, HERALD_ALLOW_NETWORKS: "127.0.0.0/8", HERALD_LOG: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/api/v1/health/`)).ok) break;
    } catch {}
    if (i > 200 || child.exitCode !== null) throw new Error("herald did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  const api = async (method, path, body) => {
    const r = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, api, stop };
}

export async function browser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}
