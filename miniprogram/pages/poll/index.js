// One poll: answer it (single, multiple, scale, free text) and see the results when allowed.
// Once answered, and while the results are still to come, "结果公布时提醒我" asks for the
// poll_notice subscribe message (on that tap only).
const api = require('../../services/api')
const format = require('../../utils/format')
const subscribe = require('../../utils/subscribe')
const ui = require('../../utils/ui')

// Option ids are strings in the API; a scale question is answered 1–5.
function questionView(q) {
  const options = q.kind === 'scale'
    ? [1, 2, 3, 4, 5].map((v) => ({ id: v, label: String(v) }))
    : (q.options || []).map((o) => ({ id: o.id, label: o.label }))
  let hint = q.required ? '' : '（选填）'
  if (q.kind === 'multiple') hint += q.max_choices ? `（可多选，最多 ${q.max_choices} 项）` : '（可多选）'
  if (q.kind === 'scale') hint += '（1 分最低，5 分最高）'
  return { id: q.id, kind: q.kind, title: q.prompt, required: !!q.required, hint, maxLength: q.max_length || 500, options }
}

function resultView(res) {
  return (res.questions || []).map((q) => {
    const rows = q.kind === 'scale'
      ? (q.scale || []).map((s) => ({ id: String(s.value), label: `${s.value} 分`, count: s.count }))
      : (q.options || []).map((o) => ({ id: o.id, label: o.label, count: o.count }))
    const answered = q.answered || 0
    return {
      id: q.question_id,
      title: q.prompt,
      answered,
      average: q.average !== undefined && q.average !== null ? Number(q.average).toFixed(1) : '',
      options: rows.map((o) => Object.assign(o, { pct: answered ? Math.round((o.count * 100) / answered) : 0 })),
    }
  })
}

Component({
  data: {
    pageClass: 'page',
    id: 0,
    poll: null,
    questions: [],
    answers: {}, // question id → option id | [option ids] | number | text
    answered: false,
    canVote: false,
    results: null,
    respondents: 0,
    sending: false,
    errorText: '',
    remindShown: false,
  },
  methods: {
    onLoad(query) {
      this.setData({ pageClass: ui.pageClass(), id: Number(query.id) })
      return this.load()
    },

    async load() {
      try {
        const poll = await api.getPoll(this.data.id)
        this.setData({
          poll: {
            title: poll.title,
            description: poll.description || '',
            anonymous: !!poll.is_anonymous,
            closes: poll.closes_at ? format.shortTime(poll.closes_at) : '',
            status: poll.status,
            resultsVisibility: poll.results_visibility || '',
          },
          questions: (poll.questions || []).map(questionView),
          answered: !!poll.has_voted,
          canVote: !!poll.can_vote,
        })
        if (poll.results_visible) await this.loadResults()
      } catch (err) {
        this.setData({ errorText: err.message || '加载失败' })
      }
      this.showRemind()
    },

    // The poll.closed notice goes to voters when the poll closes, unless its results are for
    // staff only; so the offer makes sense only for a voter, before closing, with no results yet.
    showRemind() {
      const { poll, answered, results } = this.data
      const shown = !!poll && answered && !results && poll.status !== 'closed' &&
        poll.resultsVisibility !== 'staff_only' && !this.remindAnswered &&
        subscribe.templateIds('poll_notice').length > 0
      if (shown !== this.data.remindShown) this.setData({ remindShown: shown })
    },

    // A refusal gets no further word.
    onRemind() {
      return subscribe.ask(subscribe.templateIds('poll_notice')).then(({ accepted, answered }) => {
        if (!answered) return
        this.remindAnswered = true
        this.setData({ remindShown: false })
        if (accepted.length) ui.toast('结果公布时会通知您')
      })
    },

    async loadResults() {
      try {
        const res = await api.pollResults(this.data.id)
        this.setData({ results: resultView(res), respondents: res.respondent_count || 0 })
      } catch (err) {
        this.setData({ results: null }) // results not published (yet)
      }
    },

    onChoose(e) {
      const { qid, oid, kind } = e.currentTarget.dataset
      const answers = Object.assign({}, this.data.answers)
      if (kind === 'multiple') {
        const current = (answers[qid] || []).slice()
        const at = current.indexOf(oid)
        if (at >= 0) current.splice(at, 1)
        else current.push(oid)
        answers[qid] = current
      } else {
        answers[qid] = oid
      }
      // Which options show as chosen is decided here, not in the WXML.
      const questions = this.data.questions.map((q) => Object.assign({}, q, {
        options: q.options.map((o) => Object.assign({}, o, {
          selected: Array.isArray(answers[q.id]) ? answers[q.id].indexOf(o.id) >= 0 : answers[q.id] === o.id,
        })),
      }))
      this.setData({ answers, questions })
    },

    onText(e) {
      this.setData({ [`answers.${e.currentTarget.dataset.qid}`]: e.detail.value })
    },

    async onSubmit() {
      const answers = []
      for (let i = 0; i < this.data.questions.length; i += 1) {
        const q = this.data.questions[i]
        const a = this.data.answers[q.id]
        const empty = a === undefined || a === '' || (Array.isArray(a) && !a.length)
        if (empty) {
          if (q.required) {
            ui.toast(`请回答：${q.title}`)
            return
          }
          continue
        }
        if (q.kind === 'multiple') answers.push({ question_id: q.id, option_ids: a })
        else if (q.kind === 'single') answers.push({ question_id: q.id, option_ids: [a] })
        else if (q.kind === 'scale') answers.push({ question_id: q.id, value: Number(a) })
        else answers.push({ question_id: q.id, text: String(a).trim() })
      }
      if (this.data.sending) return
      this.setData({ sending: true })
      try {
        const receipt = await api.answerPoll(this.data.id, answers)
        ui.toast('感谢参与', 'success')
        this.setData({ answered: true, canVote: false })
        if (receipt && receipt.results_visible) await this.loadResults()
      } catch (err) {
        if (err.code === 'already_voted') {
          this.setData({ answered: true, canVote: false })
          ui.toast(err.message)
        } else {
          ui.showError(err)
        }
      }
      this.setData({ sending: false })
      this.showRemind()
    },
  },
})
