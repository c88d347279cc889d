// The big screen in a real browser (Debian's chromium through playwright-core), 1920x1080:
// a dispatcher makes a display link in the console; a browser without a session opens it;
// the rendered figures equal /api/v1/stats/summary for the same area and period; a new
// report shows within one refresh period and a closing moves the KPI; after the server
// restarts the screen comes back by itself; once the link is revoked the screen says so.
// Run by scripts/test-console (which sets SCREEN_REFRESH_S / SCREEN_CACHE_S and restarts the
// server when this script writes $RESTART_REQUEST):
//   BASE_URL=... VAR_DIR=... OUT=... node tests/console/browser/screen.mjs
import { existsSync, writeFileSync } from "node:fs";
import { api, assert, axeClean, BASE, currentStep, demoPassword, join, launch, OUT, step } from "./harness.mjs";

const REFRESH_S = parseFloat(process.env.SCREEN_REFRESH_S || "5");
const CACHE_S = parseFloat(process.env.SCREEN_CACHE_S || "5");
// One refresh period: figures are at most CACHE_S old and pushed every REFRESH_S.
const PERIOD_MS = (REFRESH_S + CACHE_S) * 1000 + 1500;

const login = async (username) => (await api("/api/v1/auth/login", {
  method: "POST", body: { username, password: demoPassword(username) } })).access_token;

const browser = await launch();
let failed = false;
let screen = null;
try {
  // 1. The dispatcher makes a display link for the district in the console.
  const staff = await (await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai" })).newPage();
  await staff.goto(`${BASE}/console/screen/links`);
  await staff.getByLabel("用户名").fill("dispatcher");
  await staff.getByLabel("密码").fill(demoPassword("dispatcher"));
  await staff.getByRole("button", { name: "登录" }).click();
  await staff.waitForURL(`${BASE}/console/screen/links`);
  await staff.getByLabel("名称").fill("指挥大厅主屏");
  await staff.getByLabel("区域").selectOption({ index: 0 });
  const area = await staff.getByLabel("区域").inputValue();
  await staff.getByRole("button", { name: "创建链接" }).click();
  const link = (await staff.locator("#new-link-url").innerText()).trim();
  assert.match(link, /\/screen\/[A-Za-z0-9_-]{20,}$/);
  step(`display link made for area ${area}`);

  // 2. A hall's display opens it: no session, 1920x1080.
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: "zh-CN",
                                             timezoneId: "Asia/Shanghai" });
  screen = await context.newPage();
  const outside = [];
  screen.on("request", (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) outside.push(r.url()); });
  const errors = [];
  screen.on("pageerror", (e) => errors.push(`${currentStep()}: ${e}`));
  await screen.goto(link);
  await screen.waitForFunction(() => document.getElementById("link-state").dataset.state === "live");
  await screen.waitForSelector("#map path");  // the district's own polygons, no tiles
  const kpi = async (id) => (await screen.locator(`#kpi-${id}`).innerText()).trim();
  step("the screen is live without a session");

  // 3. The rendered figures equal the stats API's for the same area and period.
  const dispatcher = await login("dispatcher");
  const period = await screen.evaluate(() => ({ ...document.body.dataset }));
  const today = await api(`/api/v1/stats/summary?area=${area}&from=${encodeURIComponent(period.todayFrom)}&to=${encodeURIComponent(period.todayTo)}`, { token: dispatcher });
  const month = await api(`/api/v1/stats/summary?area=${area}&from=${encodeURIComponent(period.monthFrom)}&to=${encodeURIComponent(period.monthTo)}`, { token: dispatcher });
  const shown = { reported: await kpi("reported"), accepted: await kpi("accepted"),
                  dispatched: await kpi("dispatched"), closed: await kpi("closed") };
  // The page may have moved on since it read the period: compare only a consistent snapshot.
  if ((await screen.evaluate(() => document.body.dataset.todayTo)) === period.todayTo) {
    for (const [name, value] of Object.entries(shown)) assert.equal(value, String(today.counts[name]), name);
    assert.equal(await kpi("rate"), month.rates.closed_on_time_rate.display);
  }
  step(`figures equal /api/v1/stats/summary (今日上报 ${shown.reported}, 按期结案率 ${month.rates.closed_on_time_rate.display})`);

  // 4. A resident reports: the screen shows it within one refresh period.
  const before = Number(await kpi("reported"));
  const resident = await api("/api/v1/auth/dev", { method: "POST", body: { openid: `screen-${Date.now()}`, display_name: "张阿姨" } });
  const ticket = await api("/api/v1/tickets", {
    method: "POST", token: resident.access_token,
    // 楼道堆物: no routing rule, so it goes to the cell's grid team (the demo's grid workers).
    body: { category_code: "2004", description: "三单元楼道里堆满了纸箱，挡住了消防通道",
            location: { lng: 116.5703, lat: 35.4418, crs: "gcj02" }, address: "运河路 8 号门口" },
  });
  const reportedAt = Date.now();
  // A few more, so that the screenshot shows categories and a map with colour.
  for (const [code, lng, lat] of [["2001", 116.5703, 35.4418], ["2002", 116.5723, 35.4428], ["1201", 116.5683, 35.4408]]) {
    await api("/api/v1/tickets", { method: "POST", token: resident.access_token, body: {
      category_code: code, description: "截图用的示例上报，内容无关紧要", address: "运河路",
      location: { lng, lat, crs: "gcj02" } } });
  }
  await screen.waitForFunction((n) => Number(document.getElementById("kpi-reported").textContent) >= n,
                               before + 1, { timeout: PERIOD_MS });
  await screen.locator(`#feed li[data-number="${ticket.number}"]`).waitFor({ timeout: PERIOD_MS });
  step(`a new report showed in ${Date.now() - reportedAt} ms (limit ${PERIOD_MS} ms)`);
  // …and flashes on the map, in its grid cell.
  await screen.waitForFunction((n) => (document.getElementById("map").dataset.flashed || "").split(" ").includes(n),
                               ticket.number, { timeout: PERIOD_MS });
  assert.ok(await screen.locator("#map path.flash").count() >= 1, "no grid cell flashes");
  assert.ok(await screen.locator("#map path.flash-dot").count() >= 1, "no ring pulses on the map");
  step("the new report flashed on the map");

  // 5. It is accepted, handled and verified: 结案 moves.
  const closedBefore = Number(await kpi("closed"));
  let t = ticket;  // some categories are accepted (立案) and dispatched on arrival
  if (t.status === "submitted") {
    t = await api(`/api/v1/tickets/${ticket.id}/accept`, { method: "POST", token: dispatcher, body: { version: t.version } });
  }
  let worker = null;  // routing decides who holds it: the cell's grid workers or a department
  for (const who of ["grid_worker", "handler"]) {
    const token = await login(who);
    const response = await fetch(`${BASE}/api/v1/tasks/${ticket.id}/claim`, {
      method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ version: t.version }) });
    if (response.ok) { worker = token; t = await response.json(); break; }
  }
  assert.ok(worker, `nobody could claim ${ticket.number}`);
  t = await api(`/api/v1/tasks/${ticket.id}/handle`, { method: "POST", token: worker, body: { version: t.version, note: "已清运" } });
  if (t.status !== "closed") {
    t = await api(`/api/v1/tickets/${ticket.id}/verify`, { method: "POST", token: await login("grid_worker2"), body: { version: t.version, passed: true } });
  }
  assert.equal(t.status, "closed");
  const closedAt = Date.now();
  await screen.waitForFunction((n) => Number(document.getElementById("kpi-closed").textContent) === n,
                               closedBefore + 1, { timeout: PERIOD_MS });
  step(`a closing moved 今日结案 in ${Date.now() - closedAt} ms`);
  await screen.waitForTimeout(500);
  await screen.screenshot({ path: join(OUT, "10-screen.png") });

  // 6. The server restarts: the screen comes back by itself (no reload).
  if (process.env.RESTART_REQUEST) {
    await screen.evaluate(() => { window.__noReload = true; });
    writeFileSync(process.env.RESTART_REQUEST, "restart");
    await screen.waitForFunction(() => document.getElementById("link-state").dataset.state !== "live",
                                 null, { timeout: 30000 });
    const seen = await screen.evaluate(() => document.body.dataset.generatedAt);
    while (existsSync(process.env.RESTART_REQUEST)) await screen.waitForTimeout(200);
    await screen.waitForFunction((g) => document.getElementById("link-state").dataset.state === "live"
                                 && document.body.dataset.generatedAt !== g, seen, { timeout: 60000 });
    assert.equal(await screen.evaluate(() => window.__noReload), true, "the page reloaded");
    step("after a server restart the screen came back by itself");
  }

  // 7. The dashboard (统计看板): the month's figures equal the stats API's; axe finds nothing serious.
  await staff.setViewportSize({ width: 1920, height: 1080 });
  await staff.goto(`${BASE}/console/dashboard?period=month`);
  await staff.waitForFunction(() => document.body.dataset.trendReady === "true");
  const monthStart = period.monthFrom;
  const monthNow = await api(`/api/v1/stats/summary?from=${encodeURIComponent(monthStart)}`, { token: dispatcher });
  const dashCount = async (key) => (await staff.locator(`tr[data-count="${key}"] td.value`).innerText()).trim();
  for (const key of ["reported", "dispatched", "closed"]) assert.equal(await dashCount(key), String(monthNow.counts[key]), key);
  assert.equal((await staff.locator('tr[data-rate="closed_on_time_rate"] td.value').innerText()).trim(),
               monthNow.rates.closed_on_time_rate.display);
  // The charts and the heat map draw; the heat map's per-cell counts add up to the month's
  // reports located in cells, and its metric switches (案件数 / 在办案件 / 按期结案率).
  await staff.waitForFunction(() => document.body.dataset.chartsReady === "true"
                              && document.body.dataset.heatReady === "true", null, { timeout: 30000 });
  const heatPaths = await staff.locator("#heat-map path").count();
  assert.ok(heatPaths > 0, "the heat map draws the grid polygons");
  const heatReported = await staff.evaluate(() => [...document.querySelectorAll("#table-heat tbody tr")]
    .reduce((n, tr) => n + Number(tr.children[1].textContent), 0));
  const byGrid = await api(`/api/v1/stats/breakdown?by=grid&from=${encodeURIComponent(monthStart)}`, { token: dispatcher });
  assert.equal(heatReported, byGrid.rows.filter((r) => r.key).reduce((n, r) => n + r.counts.reported, 0),
               "heat map counts equal the stats breakdown by cell");
  await staff.getByLabel("在办案件", { exact: true }).check();
  await staff.waitForFunction(() => document.getElementById("heat-map").dataset.metric === "open");
  await staff.getByLabel("按期结案率", { exact: true }).check();
  await staff.waitForFunction(() => document.getElementById("heat-map").dataset.metric === "rate");
  assert.ok(await staff.locator("#table-ranking tbody tr").count() > 0, "the unit ranking is shown");
  // The trend by week (按周) beside days and months: its weeks add up to the month's reports.
  await staff.getByLabel("按周", { exact: true }).check();
  await staff.waitForFunction(() => document.body.dataset.trendBy === "week");
  const weeks = await staff.evaluate(() => [...document.querySelectorAll("#trend tbody tr")]
    .map((tr) => [tr.children[0].textContent, Number(tr.children[1].textContent)]));
  assert.ok(weeks.length >= 1 && weeks.every(([label]) => label.endsWith("起一周")), JSON.stringify(weeks));
  assert.equal(weeks.reduce((n, [, reported]) => n + reported, 0), monthNow.counts.reported,
               "the weekly trend adds up to the month's reports");
  const dashMinor = await axeClean(staff, "the dashboard");
  await staff.screenshot({ path: join(OUT, "12-dashboard.png"), fullPage: true });
  step(`dashboard figures, charts and heat map equal the stats API; axe: no serious violation (${dashMinor} minor)`);

  // 8. The dispatcher revokes the link: the screen says so within one refresh period.
  await staff.goto(`${BASE}/console/screen/links`);
  await staff.locator("tr", { hasText: "指挥大厅主屏" }).getByRole("button", { name: "撤销" }).first().click();
  await staff.locator("tr", { hasText: "已撤销" }).first().waitFor();
  await screen.locator("#gone").waitFor({ state: "visible", timeout: PERIOD_MS });
  assert.match(await screen.locator("#gone").innerText(), /撤销/);
  await screen.screenshot({ path: join(OUT, "11-screen-revoked.png") });
  const again = await fetch(`${link}/data.json`);
  assert.equal(again.status, 404);
  step("a revoked link stopped working and the screen says so");

  assert.deepEqual(outside, [], "the screen fetched something from outside the app");
  assert.deepEqual(errors, [], "the browser reported script errors");
  step("nothing fetched from outside; no script errors");
} catch (error) {
  failed = true;
  console.error(`failed after: ${currentStep()}`);
  console.error(error);
  if (screen) await screen.screenshot({ path: join(OUT, "screen-failure.png") }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
