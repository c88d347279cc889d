// Contract, both ways, against the backend's OpenAPI document generated in this same run:
//
// Requests — every call in services/api.js's ENDPOINTS table (method, path, query names and
// values, body fields, Idempotency-Key) exists in the document. Entries marked `pending` (being
// built by others) are reported as todo while the backend lacks them, never as passed.
//
// Responses — nothing here lists fields by hand. The page and component tests run again in this
// file with every mocked response body wrapped in a recording proxy (support/record.js), so:
//   1. every field a page or service read from a response must be declared by the OpenAPI
//      response schema of the call that answered it;
//   2. every mocked body the page tests served may only carry fields that schema declares;
//   3. the shared fixtures (support/fixtures.js) the page tests build their mocks from must fit
//      their call's schema in full (required fields included).
const fs = require('fs')
const path = require('path')

const { ENDPOINTS, PREFIX } = require('../services/api')
const { loadDocument, operations, problems, operationFor, responseSchema, successSchema, declares, validate } = require('./support/openapi')
const record = require('./support/record')
const fixtures = require('./support/fixtures')

const { doc, error } = loadDocument()

// The tests whose mocked responses are recorded: every page, the components and the app shell.
const RECORDED = [
  ...fs.readdirSync(path.join(__dirname, 'pages')).filter((f) => f.endsWith('.test.js')).map((f) => `./pages/${f}`),
  './components.test.js',
  './app.test.js',
]

if (error) {
  test('the OpenAPI document is available', () => {
    throw new Error(error)
  })
} else {
  const ops = operations(doc)

  describe('services/api.js requests against the backend OpenAPI document', () => {
    Object.keys(ENDPOINTS).forEach((name) => {
      const spec = ENDPOINTS[name]
      const label = `${name}: ${spec.method} ${PREFIX}${spec.path}`
      const found = problems(doc, ops, spec)
      if (spec.pending && found.length) {
        test.todo(`PENDING (backend not there yet — ${spec.pending}) ${label}: ${found.join('; ')}`)
        return
      }
      test(label, () => {
        expect(found).toEqual([])
      })
    })
  })

  test('the checker itself catches a wrong path, method, query name, body field or missing key header', () => {
    expect(problems(doc, ops, { method: 'DELETE', path: '/tasks/{ticket_id}/claim' })).toHaveLength(1)
    expect(problems(doc, ops, { method: 'GET', path: '/tasks', query: ['page'] })).toHaveLength(1)
    expect(problems(doc, ops, { method: 'GET', path: '/tasks', query: ['scope'], queryValues: { scope: ['everything'] } })).toHaveLength(1)
    expect(problems(doc, ops, { method: 'POST', path: '/tickets', body: ['accuracy'], idempotent: true })).toHaveLength(1)
    expect(problems(doc, ops, { method: 'POST', path: '/auth/logout', idempotent: true })).toHaveLength(1)
  })

  test('the table covers the calls the issue requires', () => {
    const required = [
      'loginWechat', 'loginDev', 'refresh', 'getMe', 'updateMe', 'listAreas', 'locate', 'getArea',
      'listCellWorkers', 'startUpload', 'uploadLocalFile', 'listCategories', 'createReport',
      'nearbyTickets', 'publicTickets', 'myTickets', 'getTicket', 'followTicket', 'listTasks',
      'claimTask', 'returnTask', 'handleTask', 'requestExtension', 'patrolReport', 'selfDispose',
      'verifyTicket', 'rateTicket', 'updateRating', 'ratingsQueue', 'replyRating', 'reworkRating',
      'listMessages', 'unreadCount', 'readMessage', 'saveSubscriptions', 'listPolls', 'getPoll',
      'answerPoll', 'pollResults',
    ]
    expect(required.filter((n) => !ENDPOINTS[n])).toEqual([])
    expect(Object.keys(ENDPOINTS).filter((n) => ENDPOINTS[n].pending)).toEqual([])
  })

  // --- responses ---------------------------------------------------------------------------------

  describe('the page tests, run again with their mocked responses recorded', () => {
    beforeAll(() => record.clear())
    RECORDED.forEach((file) => {
      describe(file, () => {
        require(file)
      })
    })
  })

  // "GET /api/v1/areas/{code}/grid-workers → 200" for the messages below.
  const where = (r) => {
    const found = operationFor(doc, r.method, r.path)
    return found ? `${r.method} ${found.template} → ${r.status}` : `${r.method} ${r.path} (not in the OpenAPI document)`
  }

  test('every field a page or service reads from a response is in that call\'s OpenAPI response schema', () => {
    expect(record.reads.length).toBeGreaterThan(100) // the recording really ran
    const wrong = new Set()
    record.reads.forEach((r) => {
      const found = operationFor(doc, r.method, r.path)
      const schema = found && responseSchema(found.op, r.status)
      if (!schema || !declares(doc, schema, r.field)) wrong.add(`${where(r)}: reads "${r.field}"`)
    })
    expect([...wrong].sort()).toEqual([])
  })

  test('every response body the page tests mock has only fields the OpenAPI schema declares', () => {
    expect(record.served.length).toBeGreaterThan(50)
    const wrong = new Set()
    record.served.forEach((r) => {
      const found = operationFor(doc, r.method, r.path)
      const schema = found && responseSchema(found.op, r.status)
      if (!schema) {
        wrong.add(`${where(r)}: no JSON response declared`)
        return
      }
      validate(doc, schema, r.body, { partial: true }).forEach((p) => wrong.add(`${where(r)}: ${p}`))
    })
    expect([...wrong].sort()).toEqual([])
  })

  test('the shared fixtures fit the OpenAPI response schema of their call in full', () => {
    const wrong = []
    Object.keys(fixtures.RESPONSES).forEach((name) => {
      const spec = ENDPOINTS[name]
      const schema = spec && successSchema(doc, ops, spec)
      if (!schema) {
        wrong.push(`${name}: no such call with a JSON response`)
        return
      }
      ;[].concat(fixtures.RESPONSES[name]).forEach((make, i) => {
        validate(doc, schema, make()).forEach((p) => wrong.push(`${name}[${i}]: ${p}`))
      })
    })
    expect(wrong).toEqual([])
  })

  test('the response checks catch a field the schema lacks (the grid page once read `items`)', () => {
    const found = operationFor(doc, 'GET', `${PREFIX}/areas/370811001001001/grid-workers`)
    const schema = responseSchema(found.op, 200)
    expect(declares(doc, schema, 'grid_workers[].display_name')).toBe(true)
    expect(declares(doc, schema, 'items')).toBe(false)
    expect(validate(doc, schema, { items: [] }, { partial: true })).toEqual(['items: not in the schema'])
    expect(validate(doc, schema, { grid_workers: [] })).toHaveLength(2) // cell and community missing
  })
}
