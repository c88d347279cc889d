const { loadPage, flush, tap, input, text } = require('../support/page')
const { signIn, apiError } = require('../support/wx')
const config = require('../../config')

const AREA = { id: 5, code: '370811001001', name: '运河社区', kind: 'community', path: '/' }
const POLL = {
  id: 3, title: '小区加装电梯意见征集', area: AREA, status: 'open', opens_at: '2026-11-20T00:00:00Z', closes_at: '2026-12-01T00:00:00Z',
  is_anonymous: true, results_visibility: 'after_vote', question_count: 4, has_voted: false, created_at: '2026-11-20T00:00:00Z',
  description: '请根据实际情况填写', can_vote: true, results_visible: false,
  questions: [
    { id: 1, position: 1, kind: 'single', prompt: '您是否同意加装电梯', options: [{ id: '1', label: '同意' }, { id: '2', label: '不同意' }], required: true },
    { id: 2, position: 2, kind: 'multiple', prompt: '您最关心什么', options: [{ id: 'fee', label: '费用' }, { id: 'noise', label: '噪音' }, { id: 'light', label: '采光' }], max_choices: 2, required: true },
    { id: 3, position: 3, kind: 'scale', prompt: '迫切程度', options: [], required: true },
    { id: 4, position: 4, kind: 'text', prompt: '其他建议', options: [], max_length: 200, required: false },
  ],
}
// The list answers PollOut: the poll without its questions and the caller's voting state.
function listed(poll) {
  const { description, can_vote: canVote, results_visible: visible, questions, ...rest } = poll // eslint-disable-line no-unused-vars
  return rest
}
const RESULTS = {
  poll_id: 3, title: POLL.title, status: 'open', is_anonymous: true, respondent_count: 4,
  questions: [
    { question_id: 1, position: 1, kind: 'single', prompt: '您是否同意加装电梯', answered: 4, options: [{ id: '1', label: '同意', count: 3, share: 0.75 }, { id: '2', label: '不同意', count: 1, share: 0.25 }], scale: [] },
    { question_id: 3, position: 3, kind: 'scale', prompt: '迫切程度', answered: 4, options: [], scale: [{ value: 4, count: 2 }, { value: 5, count: 2 }], average: 4.5 },
  ],
}

test('the polls of my area, answered or open', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/polls', () => [200, { area: AREA, items: [
    listed(POLL),
    listed(Object.assign({}, POLL, { id: 4, title: '垃圾分类满意度', has_voted: true })),
    listed(Object.assign({}, POLL, { id: 5, title: '停车位规划', status: 'closed' })),
  ] }])
  const page = loadPage('polls')
  page.instance.onLoad({})
  await page.instance.onShow()
  await flush()
  expect(text(page)).toContain('运河社区的调查')
  expect(page.data.rows.map((r) => [r.answered, r.open])).toEqual([[false, true], [true, true], [false, false]])
  expect(text(page)).toContain('已结束')
  await tap(page, '.poll', 0)
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/poll/index?id=3' }))
})

test('answering a poll: required questions, every kind of answer, then the results', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/polls/3', () => [200, POLL])
  wx.route('POST', '/api/v1/polls/3/responses', () => [201, { poll_id: 3, has_voted: true, results_visible: true }])
  wx.route('GET', '/api/v1/polls/3/results', () => [200, RESULTS])
  const page = loadPage('poll')
  await page.instance.onLoad({ id: '3' })
  await flush()
  expect(text(page)).toContain('匿名调查')
  expect(text(page)).toContain('可多选，最多 2 项')
  await tap(page, '#submit')
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '请回答：您是否同意加装电梯' }))
  await tap(page, '.option', 0) // 同意
  await tap(page, '.option', 2) // 费用
  await tap(page, '.option', 3) // 噪音
  await tap(page, '.option', 2) // 费用 again: unticked
  await tap(page, '.option', 8) // scale 4
  await input(page, '.answer-text', '希望尽快')
  await tap(page, '#submit')
  await flush()
  expect(wx.__calls.find((c) => c.path === '/api/v1/polls/3/responses').data).toEqual({ answers: [
    { question_id: 1, option_ids: ['1'] },
    { question_id: 2, option_ids: ['noise'] },
    { question_id: 3, value: 4 },
    { question_id: 4, text: '希望尽快' },
  ] })
  expect(text(page)).toContain('调查结果（4 人参与）')
  expect(text(page)).toContain('同意：3 票（75%）')
  expect(text(page)).toContain('平均 4.5 分')
})

test('a second vote is refused by the server and said plainly', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/polls/3', () => [200, Object.assign({}, POLL, { questions: [POLL.questions[0]] })])
  wx.route('POST', '/api/v1/polls/3/responses', () => apiError(409, 'already_voted', '您已经参与过这次投票，每人只能投一次'))
  const page = loadPage('poll')
  await page.instance.onLoad({ id: '3' })
  await flush()
  await tap(page, '.option', 1)
  await tap(page, '#submit')
  expect(page.data.answered).toBe(true)
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '您已经参与过这次投票，每人只能投一次' }))
  expect(text(page)).toContain('结果公布后可以在这里查看')
})

test('a poll I cannot vote in says why, and shows results when they are visible', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/polls/5', () => [200, Object.assign({}, POLL, { id: 5, status: 'closed', can_vote: false, results_visible: true })])
  wx.route('GET', '/api/v1/polls/5/results', () => [200, RESULTS])
  const page = loadPage('poll')
  await page.instance.onLoad({ id: '5' })
  await flush()
  expect(page.querySelector('#submit')).toBeFalsy()
  expect(text(page)).toContain('同意：3 票（75%）')
})

test('while the backend has no polls, the list says so', async () => {
  signIn(wx)
  wx.route('GET', '/api/v1/polls', () => apiError(404, 'not_found', '找不到'))
  const page = loadPage('polls')
  await page.instance.onShow()
  await flush()
  expect(text(page)).toContain('民意调查即将开通')
})

// --- poll notices (the poll_notice subscribe message) ---------------------------------------

// WeChat's answer to the prompt: { 'tmpl-poll': 'reject' } and so on.
function answerPrompt(res) {
  wx.requestSubscribeMessage.mockImplementation((opts) => {
    opts.success(Object.assign({ errMsg: 'requestSubscribeMessage:ok' }, res))
    return Promise.resolve()
  })
}

function consentPosts() {
  return wx.__calls.filter((c) => c.method === 'POST' && c.path === '/api/v1/messages/subscriptions').map((c) => c.data)
}

async function openList() {
  signIn(wx)
  wx.route('GET', '/api/v1/polls', () => [200, { area: AREA, items: [listed(POLL)] }])
  wx.route('POST', '/api/v1/messages/subscriptions', (req) => [201, { items: [] }])
  const page = loadPage('polls')
  page.instance.onLoad({})
  await page.instance.onShow()
  await flush()
  return page
}

async function voteIn(poll) {
  signIn(wx)
  wx.route('GET', '/api/v1/polls/3', () => [200, Object.assign({}, POLL, { questions: [POLL.questions[0]] }, poll)])
  wx.route('POST', '/api/v1/polls/3/responses', () => [201, { poll_id: 3, has_voted: true, results_visible: !!(poll && poll.results_visibility === 'after_vote') }])
  wx.route('GET', '/api/v1/polls/3/results', () => [200, RESULTS])
  wx.route('POST', '/api/v1/messages/subscriptions', (req) => [201, { items: [] }])
  const page = loadPage('poll')
  await page.instance.onLoad({ id: '3' })
  await flush()
  expect(text(page)).not.toContain('结果公布时提醒我') // not before voting
  await tap(page, '.option', 0)
  await tap(page, '#submit')
  await flush()
  return page
}

test('polls list: "开启投票提醒" asks WeChat for the poll template on the tap, and tells the backend', async () => {
  config.pollTemplateIds = ['tmpl-poll']
  config.subscribeTemplateIds = ['tmpl-progress']
  const page = await openList()
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled() // never on load
  expect(text(page)).toContain('开启投票提醒')
  await tap(page, '#poll-remind')
  expect(wx.requestSubscribeMessage).toHaveBeenCalledTimes(1)
  expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({ tmplIds: ['tmpl-poll'] }))
  expect(consentPosts()).toEqual([{ template_ids: ['tmpl-poll'], accepted: ['tmpl-poll'] }])
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已开启投票提醒' }))
  expect(text(page)).not.toContain('开启投票提醒')
  await page.instance.onShow() // back on the list: not offered again
  await flush()
  expect(text(page)).not.toContain('开启投票提醒')
})

test('polls list: a refusal is reported, nothing more is said, and the polls still open', async () => {
  config.pollTemplateIds = ['tmpl-poll']
  answerPrompt({ 'tmpl-poll': 'reject' })
  const page = await openList()
  await tap(page, '#poll-remind')
  expect(consentPosts()).toEqual([{ template_ids: ['tmpl-poll'], accepted: [] }])
  expect(wx.showToast).not.toHaveBeenCalled()
  expect(wx.showModal).not.toHaveBeenCalled()
  expect(text(page)).not.toContain('开启投票提醒')
  await tap(page, '.poll', 0)
  expect(wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/poll/index?id=3' }))
})

test('polls list: when WeChat cannot show the prompt, nothing is posted or said and the offer stays', async () => {
  config.pollTemplateIds = ['tmpl-poll']
  wx.requestSubscribeMessage.mockImplementation((opts) => {
    opts.fail({ errMsg: 'requestSubscribeMessage:fail', errCode: 20004 })
    return Promise.resolve()
  })
  const page = await openList()
  await tap(page, '#poll-remind')
  expect(consentPosts()).toEqual([])
  expect(wx.showToast).not.toHaveBeenCalled()
  expect(text(page)).toContain('开启投票提醒')
})

test('polls list: with no poll template configured there is no offer and no prompt', async () => {
  config.subscribeTemplateIds = ['tmpl-progress'] // the ticket template alone is not asked for here
  const page = await openList()
  expect(page.querySelector('#poll-remind')).toBeFalsy()
  expect(text(page)).not.toContain('开启投票提醒')
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()
})

test('after voting: "结果公布时提醒我" asks for the poll template and reports the answer', async () => {
  config.pollTemplateIds = ['tmpl-poll']
  const page = await voteIn({ results_visibility: 'after_close' })
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled() // voting alone asks nothing
  expect(text(page)).toContain('您已参与，结果公布后可以在这里查看')
  expect(text(page)).toContain('结果公布时提醒我')
  await tap(page, '#poll-remind')
  expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({ tmplIds: ['tmpl-poll'] }))
  expect(consentPosts()).toEqual([{ template_ids: ['tmpl-poll'], accepted: ['tmpl-poll'] }])
  expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '结果公布时会通知您' }))
  expect(text(page)).not.toContain('结果公布时提醒我')
})

test('after voting: a refusal is reported and nothing more is said; the vote stands', async () => {
  config.pollTemplateIds = ['tmpl-poll']
  answerPrompt({ 'tmpl-poll': 'reject' })
  const page = await voteIn({ results_visibility: 'after_close' })
  await tap(page, '#poll-remind')
  expect(consentPosts()).toEqual([{ template_ids: ['tmpl-poll'], accepted: [] }])
  expect(wx.showToast.mock.calls.map((c) => c[0].title)).toEqual(['感谢参与'])
  expect(text(page)).not.toContain('结果公布时提醒我')
  expect(text(page)).toContain('您已参与，结果公布后可以在这里查看')
  expect(wx.__calls.filter((c) => c.path === '/api/v1/polls/3/responses')).toHaveLength(1)
})

test('after voting: no offer without a poll template, with results already shown, or with staff-only results', async () => {
  let page = await voteIn({ results_visibility: 'after_close' })
  expect(text(page)).toContain('您已参与')
  expect(page.querySelector('#poll-remind')).toBeFalsy()

  config.pollTemplateIds = ['tmpl-poll']
  page = await voteIn({ results_visibility: 'after_vote' })
  expect(text(page)).toContain('调查结果（4 人参与）')
  expect(page.querySelector('#poll-remind')).toBeFalsy()

  page = await voteIn({ results_visibility: 'staff_only' })
  expect(text(page)).toContain('您已参与')
  expect(page.querySelector('#poll-remind')).toBeFalsy()
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()
})

test('an answered poll, seen again before its results: the offer is there too', async () => {
  config.pollTemplateIds = ['tmpl-poll']
  signIn(wx)
  wx.route('GET', '/api/v1/polls/3', () => [200, Object.assign({}, POLL, { has_voted: true, can_vote: false, results_visibility: 'after_close' })])
  const page = loadPage('poll')
  await page.instance.onLoad({ id: '3' })
  await flush()
  expect(text(page)).toContain('结果公布时提醒我')
  expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()
})
