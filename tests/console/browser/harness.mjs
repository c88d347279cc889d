// What every console browser test shares: Debian's chromium through playwright-core (never a
// downloaded browser), the demo accounts' passwords, the API as the mini-program calls it,
// axe-core (WCAG 2.1 AA: no serious or critical violation), and the two guards every test ends
// with — nothing fetched from outside the console, no script error. Not a test itself:
// scripts/test-console runs the other .mjs files of this folder.
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

// The packages live in app/console/node_modules (the console's package.json pins them).
const require = createRequire(new URL("../../../app/console/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const { AxeBuilder } = require("@axe-core/playwright");

export const BASE = process.env.BASE_URL || "http://127.0.0.1:8000";
export const VAR_DIR = process.env.VAR_DIR || "var";
export const OUT = process.env.OUT || "test-output/console";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(OUT, { recursive: true });

export { assert, join };

export function demoPassword(username) {
  const lines = readFileSync(join(VAR_DIR, "demo-accounts.txt"), "utf8").split("\n");
  const row = lines.map((l) => l.split("\t")).find((cols) => cols[0] === username);
  assert.ok(row, `no ${username} in ${VAR_DIR}/demo-accounts.txt`);
  return row[1].trim();
}

// The JSON API, as the mini-program calls it; a non-2xx answer fails the test with its body.
export async function api(path, { method = "GET", token, body } = {}) {
  const response = await fetch(BASE + path, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

export async function axeClean(page, what) {
  const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const serious = axe.violations.filter((v) => ["serious", "critical"].includes(v.impact));
  for (const v of serious) console.error(`axe ${v.impact}: ${v.id} ${v.help} (${v.nodes.map((n) => n.target).join(", ")})`);
  assert.equal(serious.length, 0, `serious or critical accessibility violations on ${what}`);
  return axe.violations.length;
}

// Sign a demo account in through the console's form; lands on its home page.
export async function signIn(page, username) {
  await page.goto(`${BASE}/console/login`);
  await page.getByLabel("用户名").fill(username);
  await page.getByLabel("密码").fill(demoPassword(username));
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(`${BASE}/console/`);
}

// Debian's chromium, headless, with nothing of its own phoning home.
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
}

// A step passed: printed, and named in any script error that follows.
let stage = "start";
export function step(what) { stage = what; console.log(`ok  ${what}`); }
export const currentStep = () => stage;

// Run one browser test: `body({ page, context, browser, step })` drives a fresh page (desktop
// size, Chinese, Beijing time); `step(text)` prints a passed step. Afterwards the guards; on a
// failure, a full-page screenshot `failure-<name>.png` and the page's text. Exits the process.
export async function browserTest(name, body) {
  const browser = await launch();
  let failed = false;
  let page = null;
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: "zh-CN",
                                               timezoneId: "Asia/Shanghai" });
    page = await context.newPage();
    const outside = [];
    page.on("request", (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) outside.push(r.url()); });
    const scriptErrors = [];
    page.on("console", (m) => { if (m.type() === "error") scriptErrors.push(`${stage}: ${m.text()}`); });
    page.on("pageerror", (e) => scriptErrors.push(String(e)));
    await body({ page, context, browser, step });
    assert.deepEqual(outside, [], "the console fetched something from outside itself");
    assert.deepEqual(scriptErrors, [], "the browser reported script errors");
    step("nothing fetched from outside; no script errors");
  } catch (error) {
    failed = true;
    console.error(error);
    if (page) {
      await page.screenshot({ path: join(OUT, `failure-${name}.png`), fullPage: true }).catch(() => {});
      console.error(`at ${page.url()}:\n${(await page.locator("main").innerText().catch(() => "")).slice(0, 800)}`);
    }
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}
