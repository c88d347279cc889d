// 系统管理 in a real browser: the demo's admin opens the admin pages from the menu, changes a
// category's time limit, opens a routing rule, sees on the grid map (no tile server) where the
// rule wins, clicks a point and reads where a report there would go. axe-core checks the
// category and rule pages (WCAG 2.1 AA). Run by scripts/test-console:
//   BASE_URL=http://127.0.0.1:8000 VAR_DIR=var node tests/console/browser/admin.mjs
import { assert, axeClean, BASE, browserTest, join, OUT, signIn, step } from "./harness.mjs";

await browserTest("admin", async ({ page }) => {
  await signIn(page, "admin");
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
});
