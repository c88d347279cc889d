// 网格导入 in a real browser: the demo's admin opens it from the menu, previews a file whose
// cells overlap and stick out of their community (the problem list, nothing written), then a
// good file: its polygons are drawn on the map (no tile server) and the import is confirmed.
// axe-core checks both previews and the 内容审核 queue (WCAG 2.1 AA). Run by scripts/test-console:
//   BASE_URL=http://127.0.0.1:8000 VAR_DIR=var node tests/console/browser/grid.mjs
import { assert, axeClean, BASE, browserTest, join, OUT, signIn, step } from "./harness.mjs";

// A new district far from the demo's grid (unique code and place, so a rerun on the same
// database does not meet the last run's cells): district › street › community, one square
// each, and the cells given as [west, south, east, north] in degrees.
const run = Date.now() % 100000;
const code = `BT${run}`;
const [x0, y0] = [118 + (run % 400) * 0.05, 34.0];
const square = ([w, s, e, n]) => ({ type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] });
function district(cells) {
  const outline = square([x0, y0, x0 + 0.02, y0 + 0.02]);
  const area = (c, kind, parent, geometry, name) => ({ type: "Feature", geometry,
    properties: { code: c, name, kind, parent_code: parent } });
  return Buffer.from(JSON.stringify({ type: "FeatureCollection", features: [
    area(code, "district", null, outline, "测试新区"),
    area(`${code}01`, "street", code, outline, "测试街道"),
    area(`${code}0101`, "community", `${code}01`, outline, "测试社区"),
    ...cells.map((c, i) => area(`${code}0101${i + 1}`, "grid", `${code}0101`,
                                square([x0 + c[0], y0 + c[1], x0 + c[2], y0 + c[3]]), `第${i + 1}网格`)),
  ] }));
}
// Cell 2 covers half of cell 1; cell 3 reaches 0.01° east of the community.
const BAD = district([[0, 0, 0.01, 0.01], [0.005, 0, 0.015, 0.01], [0.015, 0.01, 0.03, 0.02]]);
const GOOD = district([[0, 0, 0.01, 0.02], [0.01, 0, 0.02, 0.02]]);

await browserTest("grid", async ({ page }) => {
  await signIn(page, "admin");
  await page.getByRole("link", { name: "网格导入" }).click();
  await page.waitForURL(`${BASE}/console/admin/grid`);
  // Chinese text renders in a real CJK font, not tofu boxes.
  assert.match(await page.locator("h1").innerText(), /网格导入/);
  const cjk = await page.evaluate(() => document.fonts.check('16px "WenQuanYi Zen Hei"', "网格导入"));
  assert.ok(cjk, "WenQuanYi Zen Hei is not available to the page");
  step("admin opened 网格导入 from the menu; the page is in Chinese with a CJK font");

  const file = page.getByLabel("GeoJSON 文件");
  await file.setInputFiles({ name: "bad.geojson", mimeType: "application/geo+json", buffer: BAD });
  await page.getByRole("button", { name: "预览检查" }).click();
  await page.locator(".grid-result").waitFor();
  const problems = page.locator("table.grid-problems tbody tr");
  assert.equal(await problems.count(), 3, "the problem list should name the three cells");
  const listed = await page.locator("table.grid-problems").innerText();
  assert.match(listed, new RegExp(`与网格 ${code}01012（[\\d.]+ m²）\\s*重叠`));
  assert.match(listed, new RegExp(`超出上级区域 ${code}0101 的边界`));
  assert.match(await page.locator(".grid-result").innerText(), /发现 3 处问题，不能导入/);
  assert.match(await page.locator(".crs-note").innerText(), /文件未声明坐标系/);
  assert.equal(await page.getByRole("button", { name: "确认导入" }).count(), 0);
  await page.waitForFunction(() => Number(document.getElementById("grid-map")?.dataset.drawn) === 6);
  assert.equal(await page.locator("#grid-map path.import-area.problem").count(), 3);
  await page.screenshot({ path: join(OUT, "40-grid-problems.png"), fullPage: true });
  await axeClean(page, "the grid preview with problems");
  step("a bad file: three problems listed (overlap in m², outside the parent, CRS assumed), in red on the map");

  await file.setInputFiles({ name: "good.geojson", mimeType: "application/geo+json", buffer: GOOD });
  await page.getByRole("button", { name: "预览检查" }).click();
  await page.locator(".grid-result", { hasText: "检查通过" }).waitFor();
  await page.waitForFunction(() => Number(document.getElementById("grid-map")?.dataset.drawn) === 5);
  assert.equal(await page.locator("#grid-map path.import-area").count(), 5);
  assert.equal(await page.locator("#grid-map path.import-area.problem").count(), 0);
  assert.equal(await page.locator("#grid-map path.import-area.grid").count(), 2);
  await page.screenshot({ path: join(OUT, "41-grid-preview.png"), fullPage: true });
  await axeClean(page, "the grid preview of a good file");
  step("a good file: its five areas drawn on the map, nothing to fix");

  await page.getByRole("button", { name: "确认导入" }).click();
  await page.locator("#grid-preview .notice.ok", { hasText: "导入成功" }).waitFor();
  assert.match(await page.locator("#grid-preview").innerText(), /新增 5 个区域/);
  await page.screenshot({ path: join(OUT, "42-grid-imported.png"), fullPage: true });
  // Written: the same file checked again finds every code taken.
  await page.getByRole("button", { name: "预览检查" }).click();
  await page.locator(".grid-result", { hasText: "发现 5 处问题" }).waitFor();
  assert.match(await page.locator("table.grid-problems").innerText(), /编码已存在/);
  step(`confirmed: district ${code} imported, and a second preview finds its codes taken`);

  await page.getByRole("link", { name: "内容审核" }).click();
  await page.waitForURL(`${BASE}/console/review`);
  assert.match(await page.locator("main").innerText(), /案件描述（\d+）[\s\S]*评价留言（\d+）[\s\S]*投票文字回答（\d+）/);
  await page.screenshot({ path: join(OUT, "43-review-queue.png"), fullPage: true });
  await axeClean(page, "the content-review queue");
  step("内容审核 opens from the menu with its three lists; axe finds nothing serious");
});
