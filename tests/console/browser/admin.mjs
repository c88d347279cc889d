// 系统管理 in a real browser: the demo's admin opens the admin pages from the menu, changes a
// category's time limit, opens a routing rule, sees on the grid map (no tile server) where the
// rule wins, clicks a point and reads where a report there would go. axe-core checks the
// category and rule pages (WCAG 2.1 AA). Run by scripts/test-console:
//   BASE_URL=http://127.0.0.1:8000 VAR_DIR=var node tests/console/browser/admin.mjs
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

const require = createRequire(new URL("../../../app/console/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const { AxeBuilder } = require("@axe-core/playwright");

const BASE = process.env.BASE_URL || "http://127.0.0.1:8000";
const VAR_DIR = process.env.VAR_DIR || "var";
const OUT = process.env.OUT || "test-output/console";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(OUT, { recursive: true });

function demoPassword(username) {
  const lines = readFileSync(join(VAR_DIR, "demo-accounts.txt"), "utf8").split("\n");
  const row = lines.map((l) => l.split("\t")).find((cols) => cols[0] === username);
  assert.ok(row, `no ${username} in ${VAR_DIR}/demo-accounts.txt`);
  return row[1].trim();
}

let stage = "start";
const step = (what) => { stage = what; console.log(`ok  ${what}`); };

async function axeClean(page, what) {
  const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const serious = axe.violations.filter((v) => ["serious", "critical"].includes(v.impact));
  for (const v of serious) console.error(`axe ${v.impact}: ${v.id} ${v.help} (${v.nodes.map((n) => n.target).join(", ")})`);
  assert.equal(serious.length, 0, `serious or critical accessibility violations on ${what}`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
let failed = false;
let page = null;
try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: "zh-CN",
                                             timezoneId: "Asia/Shanghai" });
  page = await context.newPage();
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) outside.push(r.url()); });
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${stage}: ${m.text()}`); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  await page.goto(`${BASE}/console/login`);
  await page.getByLabel("用户名").fill("admin");
  await page.getByLabel("密码").fill(demoPassword("admin"));
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(/\/console\//);
  await page.getByRole("navigation", { name: "主导航" }).getByRole("link", { name: "系统管理" }).click();
  await page.waitForURL(`${BASE}/console/admin/categories`);
  await axeClean(page, "the category tree");
  await page.screenshot({ path: join(OUT, "20-admin-categories.png") });
  step("admin opened 系统管理 from the menu: the category tree");

  await page.locator("tr.minor a").first().click();
  await page.waitForURL(/\/console\/admin\/categories\/\d+$/);
  const code = page.url().split("/").pop();
  await page.getByLabel("一般", { exact: true }).fill("7");
  await page.getByRole("button", { name: "保存" }).click();
  await page.waitForURL(/\?saved=1$/);
  assert.equal(await page.getByLabel("一般", { exact: true }).inputValue(), "7");
  await page.getByRole("link", { name: "← 返回分类列表" }).click();
  assert.match(await page.locator(`tr.minor:has(a:text-is("${code}"))`).innerText(), /7 /);
  step(`小类 ${code}: the time limit changed to 7 and the tree shows it`);

  await page.getByRole("link", { name: "派单规则" }).click();
  await page.waitForURL(`${BASE}/console/admin/rules`);
  await page.locator("table a[href*='/admin/rules/']").first().click();
  await page.waitForURL(/\/console\/admin\/rules\/\d+$/);
  await page.waitForSelector("#rule-map path.cell.rule-wins");
  const wins = await page.locator("#rule-map path.cell.rule-wins").count();
  assert.ok(wins > 0, "no cell where the rule wins");
  await page.locator("#rule-map path.cell.rule-wins").first().click();
  await page.locator("#preview-result dl.preview").waitFor();
  assert.match(await page.locator("#preview-result").innerText(), /派给[\s\S]*原因/);
  await page.screenshot({ path: join(OUT, "21-admin-rule.png"), fullPage: true });
  await axeClean(page, "a routing rule's page");
  step(`the rule wins in ${wins} cells on the map; a click previews where a report would go`);

  assert.deepEqual(outside, [], "the console fetched something from outside itself");
  assert.deepEqual(consoleErrors, [], "the browser reported script errors");
  step("nothing fetched from outside; no script errors");
} catch (error) {
  failed = true;
  console.error(error);
  if (page) {
    await page.screenshot({ path: join(OUT, "failure-admin.png"), fullPage: true }).catch(() => {});
    console.error(`at ${page.url()}:\n${(await page.locator("main").innerText().catch(() => "")).slice(0, 800)}`);
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
