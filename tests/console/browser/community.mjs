// Community staff in a real browser: 评价回复 opens from the menu; 民意调查: a poll is written
// (a second question added with "再加一题"), previewed, published; residents vote through the
// API; the poll's page draws the results as charts beside tables with the same counts; the poll
// is closed early (htmx, in place). axe-core checks the pages (WCAG 2.1 AA). Run by
// scripts/test-console:
//   BASE_URL=http://127.0.0.1:8000 VAR_DIR=var node tests/console/browser/community.mjs
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
const title = `停车改造意见征集 ${Date.now() % 100000}`;

async function api(method, path, body, token) {
  const response = await fetch(`${BASE}/api/v1${path}`, {
    method, headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

async function residentVotes(openid, community, pollId, choice, value) {
  const { access_token: token } = await api("POST", "/auth/dev", { openid, display_name: openid });
  await api("PATCH", "/me", { home_area_code: community }, token);
  const poll = await api("GET", `/polls/${pollId}`, undefined, token);
  const [single, scale] = poll.questions;
  await api("POST", `/polls/${pollId}/responses`, { answers: [
    { question_id: single.id, option_ids: [choice] }, { question_id: scale.id, value }] }, token);
}

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
  await page.getByLabel("用户名").fill("community_staff");
  await page.getByLabel("密码").fill(demoPassword("community_staff"));
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(`${BASE}/console/`);
  await page.getByRole("navigation", { name: "主导航" }).getByRole("link", { name: "评价回复" }).click();
  await page.waitForURL(`${BASE}/console/ratings`);
  assert.match(await page.locator("main").innerText(), /评价回复/);
  await axeClean(page, "the ratings page");
  step("community staff opened 评价回复 from the menu; axe finds nothing serious");

  await page.getByRole("navigation", { name: "主导航" }).getByRole("link", { name: "民意调查" }).click();
  await page.waitForURL(`${BASE}/console/polls`);
  await page.getByRole("link", { name: "发起投票" }).click();
  await page.waitForURL(`${BASE}/console/polls/new`);
  const area = page.locator("select[name=area_code]");
  const community = await area.locator("option").nth(1).getAttribute("value");
  await area.selectOption(community);
  await page.getByLabel("标题").fill(title);
  await page.getByLabel("结束时间").fill("2099-12-31T18:00");
  await page.locator("[name=q1_prompt]").fill("您是否支持改造？");
  await page.locator("[name=q1_options]").fill("支持\n不支持");
  assert.ok(await page.locator("[name=q1_max_length]").isHidden(), "a choice question offers a text limit");
  await page.locator("[name=q2_kind]").selectOption("scale");
  assert.ok(await page.locator("[name=q2_options]").isHidden(), "a scale question offers options");
  await page.locator("[name=q2_prompt]").fill("您对目前停车秩序的满意度");
  await page.getByRole("button", { name: "再加一题" }).click();
  assert.equal(await page.locator(".poll-question-form").count(), 4);
  await axeClean(page, "the new-poll form");
  await page.getByRole("button", { name: "预览" }).click();
  await page.locator(".poll-preview").waitFor();
  assert.match(await page.locator(".poll-preview").innerText(), /您是否支持改造？[\s\S]*支持[\s\S]*不支持/);
  await page.screenshot({ path: join(OUT, "30-poll-preview.png"), fullPage: true });
  await page.getByRole("button", { name: "发布投票" }).click();
  await page.waitForURL(/\/console\/polls\/\d+\?published=1/);
  const pollId = Number(page.url().match(/polls\/(\d+)/)[1]);
  assert.match(await page.locator("main").innerText(), /投票已发布/);
  step("a poll was written, previewed and published");

  await residentVotes(`cs-a-${Date.now()}`, community, pollId, "1", 4);
  await residentVotes(`cs-b-${Date.now()}`, community, pollId, "1", 5);
  await residentVotes(`cs-c-${Date.now()}`, community, pollId, "2", 2);
  await page.goto(`${BASE}/console/polls/${pollId}`);
  await page.waitForFunction(() => document.body.dataset.pollChartsReady === "true");
  assert.equal(await page.locator("canvas[data-chart]").count(), 2);
  assert.equal((await page.locator("dd.respondents").innerText()).trim(), "3");
  assert.equal((await page.locator('tr[data-option="1"] td.value').innerText()).trim(), "2");
  assert.equal((await page.locator('tr[data-option="2"] td.value').innerText()).trim(), "1");
  await axeClean(page, "the poll's page");
  await page.screenshot({ path: join(OUT, "31-poll-results.png"), fullPage: true });
  step("three residents voted through the API; the poll's page charts and tables show 2 / 1");

  await page.getByLabel("提前结束的原因（居民可见）").fill("改造方案有变");
  await page.getByRole("button", { name: "提前结束投票" }).click();
  await page.locator("#poll .notice.ok", { hasText: "投票已结束" }).waitFor();
  assert.equal(page.url(), `${BASE}/console/polls/${pollId}`, "closing reloaded the page");
  assert.equal(await page.locator("#poll .poll-status").innerText(), "已结束");
  await page.waitForFunction(() => document.querySelectorAll("canvas[data-chart][data-drawn]").length === 2);
  step("closed early in place (htmx); the charts are drawn again");

  assert.deepEqual(outside, [], "the console fetched something from outside itself");
  assert.deepEqual(consoleErrors, [], "the browser reported script errors");
  step("nothing fetched from outside; no script errors");
} catch (error) {
  failed = true;
  console.error(error);
  if (page) {
    await page.screenshot({ path: join(OUT, "failure-community.png"), fullPage: true }).catch(() => {});
    console.error(`at ${page.url()}:\n${(await page.locator("main").innerText().catch(() => "")).slice(0, 800)}`);
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
