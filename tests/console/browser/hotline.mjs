// 热线登记 and 督办 in a real browser: the dispatcher takes a call, picks the place on the grid
// map (no tile server), files it, lands on the new case with the caller's details, and raises a
// 督办 on it. axe-core checks the form (WCAG 2.1 AA). Run by scripts/test-console:
//   BASE_URL=http://127.0.0.1:8000 VAR_DIR=var node tests/console/browser/hotline.mjs
import { BASE, OUT, assert, axeClean, browserTest, join, signIn } from "./harness.mjs";

const phone = `139${String(Date.now()).slice(-8)}`;

await browserTest("hotline", async ({ page, step }) => {
  await signIn(page, "dispatcher");
  await page.getByRole("link", { name: "热线登记" }).click();
  await page.waitForURL(`${BASE}/console/hotline/new`);
  step("dispatcher opened 热线登记 from the menu");

  await page.getByLabel("来电人姓名").fill("刘先生");
  await page.getByLabel("来电号码").fill(phone);
  await page.getByLabel("问题类别").selectOption({ label: "0102 污水井盖" });
  await page.getByLabel("问题描述").fill("来电反映：小区门口井盖松动，晚上有人差点踩空");
  await page.getByLabel("地址", { exact: true }).fill("运河路 8 号门口");
  await page.waitForSelector("#hotline-map[data-grid-ready] path.cell");
  await page.locator("#hotline-map path.cell").first().click();  // the place, on the grid map
  assert.match(await page.getByLabel("经度").inputValue(), /^\d+\.\d{6}$/);
  assert.match(await page.getByLabel("纬度").inputValue(), /^\d+\.\d{6}$/);
  await page.screenshot({ path: join(OUT, "10-hotline-form.png"), fullPage: true });
  await axeClean(page, "the hotline form");
  step("the form is filled; a click on the grid map set the point; axe finds nothing serious");

  await page.getByRole("button", { name: "登记并立案" }).click();
  await page.waitForURL(/\/console\/tickets\/\d+\?filed=1/);
  const main = await page.locator("main").innerText();
  assert.match(main, /热线工单已登记并立案/);
  assert.ok(main.includes(phone), "the caller's number is not on the case page");
  assert.match(main, /热线来电/);
  step("filed: the new case opened with the caller's details");

  await page.getByLabel("督办级别").selectOption({ label: "重点督办" });
  await page.getByLabel("督办意见").fill("群众反映强烈，请尽快处置");
  await page.getByLabel("督办时限（北京时间）").fill("2099-12-31T18:00");
  await page.getByRole("button", { name: "督办", exact: true }).click();
  await page.locator("#case .notice.ok", { hasText: "已督办" }).waitFor();
  assert.match(await page.locator("#case").innerText(), /重点督办 · 群众反映强烈，请尽快处置/);
  await page.screenshot({ path: join(OUT, "11-supervised.png"), fullPage: true });
  step("督办 raised from the case page");
});
