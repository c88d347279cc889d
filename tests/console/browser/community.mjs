// Community staff in a real browser: 评价回复 opens from the menu; 民意调查: a poll is written
// (a second question added with "再加一题"), previewed, published; residents vote through the
// API; the poll's page draws the results as charts beside tables with the same counts; the poll
// is closed early (htmx, in place). axe-core checks the pages (WCAG 2.1 AA). Run by
// scripts/test-console:
//   BASE_URL=http://127.0.0.1:8000 VAR_DIR=var node tests/console/browser/community.mjs
import { assert, axeClean, BASE, browserTest, join, OUT, signIn, step } from "./harness.mjs";

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


await browserTest("community", async ({ page }) => {
  await signIn(page, "community_staff");
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
});
