// The dispatcher's day, in a real browser (Debian's chromium through playwright-core):
// a resident reports through the API, the dispatcher signs in, finds the case on the list and
// on the map, accepts it, and the page updates without a reload. Screenshots go to
// $OUT (test-output/console); axe-core checks the workbench (WCAG 2.1 AA: no serious or
// critical violation). Run by scripts/test-console, which starts a server with demo data:
//   BASE_URL=http://127.0.0.1:8000 VAR_DIR=var node tests/console/browser/workbench.mjs
import { api, assert, axeClean, BASE, browserTest, demoPassword, join, OUT, signIn, step } from "./harness.mjs";


// 1. A resident reports through the API (as the mini-program does).
const resident = await api("/api/v1/auth/dev", { method: "POST", body: { openid: `browser-${Date.now()}`, display_name: "张阿姨" } });
const ticket = await api("/api/v1/tickets", {
  method: "POST", token: resident.access_token,
  body: { category_code: "1003", description: "小区门口堆了好几天的建筑垃圾，没人清理",
          location: { lng: 116.5703, lat: 35.4418, crs: "gcj02" }, address: "运河路 8 号门口" },
});
assert.equal(ticket.status, "submitted");
step(`resident reported ${ticket.number}`);

await browserTest("workbench", async ({ page }) => {
  // 2. The dispatcher signs in.
  await page.goto(`${BASE}/console/`);
  await page.waitForURL(/\/console\/login/);
  await page.screenshot({ path: join(OUT, "01-login.png") });
  await signIn(page, "dispatcher");
  step("dispatcher signed in");

  // 3. The case is on the list (待受理) and on the map.
  const row = page.locator(`#cases tr[data-id="${ticket.id}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /积存垃圾渣土/);
  await page.waitForSelector("path.cell");  // the district's grid polygons, drawn locally
  // The map loads the tab's cases inside its bounds (/console/map/cases.json), not the page's.
  await page.waitForFunction(() => Number(document.getElementById("map").dataset.loaded) >= 1);
  // Earlier tests may have reported near the same point: the case is a marker or inside a cluster.
  const shown = page.locator("#map path.marker, #map .case-cluster");
  assert.ok((await shown.count()) >= 1, "no case marker or cluster on the map");
  // Chinese text renders in a real CJK font, not tofu boxes.
  const cjk = await page.evaluate(() => document.fonts.check('16px "WenQuanYi Zen Hei"', "待受理"));
  assert.ok(cjk, "WenQuanYi Zen Hei is not available to the page");
  step("case is on the list and the map");

  // 4. Selecting the row highlights its marker; clicking a marker selects its row.
  await row.locator("td").nth(1).click();
  await page.waitForSelector("path.marker.selected");
  await page.locator("#case h2").waitFor();
  assert.match(await page.locator("#case h2").innerText(), new RegExp(ticket.number));
  await page.locator("#case").getByRole("button", { name: "立案", exact: true }).waitFor();
  await page.screenshot({ path: join(OUT, "02-workbench-selected.png") });
  step("row and marker select each other; the case opened beside the list");

  // 5. Accessibility of the workbench (WCAG 2.1 AA).
  const minor = await axeClean(page, "the workbench");
  step(`axe: no serious or critical violation (${minor} minor)`);

  // 6. Accept it: the case panel and the list update without a page reload.
  await page.evaluate(() => { window.__noReload = true; });
  await page.locator("#case").getByRole("button", { name: "立案", exact: true }).click();
  await page.locator("#case .notice.ok").waitFor();
  assert.match(await page.locator("#case .notice.ok").innerText(), /已立案/);
  await page.waitForFunction((id) => !document.querySelector(`#cases tr[data-id="${id}"]`), ticket.id);
  assert.equal(await page.evaluate(() => window.__noReload), true, "the page reloaded");
  await page.screenshot({ path: join(OUT, "03-accepted.png") });
  const after = await api(`/api/v1/tickets/${ticket.id}`, { token: resident.access_token });
  assert.notEqual(after.status, "submitted");
  step(`accepted in the browser: now ${after.status_label}; it left 待受理 without a reload`);

  // 7. The case's own page (full size), with its location in its cell.
  await page.goto(`${BASE}/console/tickets/${ticket.id}`);
  await page.waitForSelector("#case-map path.cell");
  await page.screenshot({ path: join(OUT, "04-case.png"), fullPage: true });
  step("case page with its map");

  // 8. A 楼道堆物 report goes straight to the cell's grid team; its grid worker claims and
  // handles it through the API (as the mini-program does); the dispatcher finds it under
  // 待核查/待结案 and closes it.
  const stairs = await api("/api/v1/tickets", {
    method: "POST", token: resident.access_token,
    body: { category_code: "2004", description: "三楼楼道堆满纸箱，挡住了消防通道",
            location: { lng: 116.5703, lat: 35.4418, crs: "gcj02" }, address: "运河路 8 号 3 单元" },
  });
  const worker = await api("/api/v1/auth/login", { method: "POST",
    body: { username: "grid_worker", password: demoPassword("grid_worker") } });
  let current = await api(`/api/v1/tasks/${stairs.id}/claim`, {
    method: "POST", token: worker.access_token, body: { version: stairs.version } });
  current = await api(`/api/v1/tasks/${stairs.id}/handle`, {
    method: "POST", token: worker.access_token, body: { note: "纸箱已清走", version: current.version } });
  step(`grid worker handled ${stairs.number} through the API: ${current.status_label}`);
  await page.goto(`${BASE}/console/?queue=close`);
  const waiting = page.locator(`#cases tr[data-id="${stairs.id}"]`);
  await waiting.waitFor();
  await waiting.locator("td").nth(2).click();
  await page.locator("#case").getByRole("button", { name: "结案", exact: true }).click();
  await page.locator("#case .notice.ok").waitFor();
  const closed = await api(`/api/v1/tickets/${stairs.id}`, { token: resident.access_token });
  assert.equal(closed.status, "closed");
  await page.screenshot({ path: join(OUT, "05-closed.png") });
  step("dispatcher found it under 待核查/待结案 and closed it");

  // 9. Two more reports, ticked on the list and accepted in one go (批量立案); then the
  // 上报时间 column turns the order round and the URL keeps it.
  const more = [];
  for (const n of [1, 2]) {
    more.push(await api("/api/v1/tickets", {
      method: "POST", token: resident.access_token,
      body: { category_code: "1003", description: `运河路又有一堆建筑垃圾（第 ${n} 处）`,
              location: { lng: 116.5703, lat: 35.4418, crs: "gcj02" }, address: `运河路 ${10 + n} 号` },
    }));
  }
  await page.goto(`${BASE}/console/?queue=accept`);
  for (const t of more) {
    await page.getByRole("checkbox", { name: `选择案件 ${t.number}` }).check();
  }
  await page.getByRole("button", { name: "批量立案" }).click();
  await page.locator("#queue-body .notice").waitFor();
  assert.match(await page.locator("#queue-body .notice").innerText(), /已处理 2 件/);
  for (const t of more) {
    const now = await api(`/api/v1/tickets/${t.id}`, { token: resident.access_token });
    assert.notEqual(now.status, "submitted", `${t.number} was not accepted`);
  }
  await page.screenshot({ path: join(OUT, "06-bulk-accepted.png") });
  step("two ticked cases accepted in one go");
  await page.goto(`${BASE}/console/?queue=all`);
  await page.getByRole("link", { name: "上报时间" }).click();
  await page.waitForURL(/sort=oldest/);
  step("the 上报时间 column sorts oldest first, in the URL");

  // 10. The map clusters cases reported at one place: every loaded case is a marker or counted
  // in a cluster; a click on the cluster opens it up into its markers.
  await page.waitForFunction(() => Number(document.getElementById("map").dataset.loaded) >= 4);
  const drawn = await page.evaluate(() => ({
    loaded: Number(document.getElementById("map").dataset.loaded),
    markers: document.querySelectorAll("#map path.marker").length,
    clustered: Array.from(document.querySelectorAll("#map .case-cluster"))
      .reduce((n, c) => n + parseInt(c.textContent, 10), 0),
  }));
  assert.ok(drawn.clustered >= 4, `no cluster of the cases reported at 运河路 8 号: ${JSON.stringify(drawn)}`);
  assert.equal(drawn.markers + drawn.clustered, drawn.loaded, "a loaded case is neither a marker nor in a cluster");
  await page.screenshot({ path: join(OUT, "07-clustered.png") });
  // Other tests report near 运河路 too: open the biggest cluster, and more markers show.
  const biggest = await page.evaluate(() => {
    const all = Array.from(document.querySelectorAll("#map .case-cluster"));
    const counts = all.map((c) => parseInt(c.textContent, 10));
    return counts.indexOf(Math.max(...counts));
  });
  await page.locator("#map .case-cluster").nth(biggest).click();
  await page.waitForFunction((before) => document.querySelectorAll("#map path.marker").length > before,
                             drawn.markers);
  step(`the map clusters the ${drawn.loaded} cases of 全部; a click opens the cluster into markers`);

  // 11. Back from a case's full page: the list as it was (tab, order), its scroll restored.
  const listUrl = page.url();
  await page.locator("#cases tr.row td").nth(2).click();
  await page.locator("#case a.full-page").click();
  await page.waitForURL(/\/console\/tickets\/\d+$/);
  assert.equal(await page.locator("#back-to-list").getAttribute("href"), listUrl.slice(BASE.length));
  await page.locator("#back-to-list").click();
  await page.waitForURL(listUrl);
  await page.waitForFunction(() => document.body.dataset.scrollRestored !== undefined);
  step("返回工作台 went back to the same list and restored its scroll");
});
