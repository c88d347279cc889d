// Reading the backend's OpenAPI document (path from OPENAPI_JSON) and matching our calls to it.
const fs = require('fs')

const { PREFIX } = require('../../services/api')

function loadDocument() {
  const file = process.env.OPENAPI_JSON
  if (!file) return { error: 'OPENAPI_JSON is not set: run scripts/test-miniprogram, which starts the backend and fetches /docs/openapi.json' }
  try {
    return { doc: JSON.parse(fs.readFileSync(file, 'utf8')) }
  } catch (err) {
    return { error: `cannot read OPENAPI_JSON=${file}: ${err.message}` }
  }
}

// "/tickets/{ticket_id}/claim" and "/tickets/{id}/claim" are the same route.
function normalise(path) {
  return path.replace(/\{[^}]+\}/g, '{}')
}

function operations(doc) {
  const ops = new Map()
  Object.keys(doc.paths || {}).forEach((path) => {
    Object.keys(doc.paths[path]).forEach((method) => {
      ops.set(`${method.toUpperCase()} ${normalise(path)}`, { path, op: doc.paths[path][method] })
    })
  })
  return ops
}

function resolve(doc, schema) {
  let s = schema
  let guard = 0
  while (s && s.$ref && guard < 20) {
    const name = s.$ref.replace('#/components/schemas/', '')
    s = doc.components && doc.components.schemas && doc.components.schemas[name]
    guard += 1
  }
  return s || {}
}

// The property names a JSON request body may carry (following $ref and allOf).
function bodyProperties(doc, op) {
  const content = op.requestBody && op.requestBody.content
  if (!content) return null
  const media = content['application/json'] || content['multipart/form-data']
  if (!media) return null
  const names = new Set()
  const visit = (schema) => {
    const s = resolve(doc, schema)
    Object.keys(s.properties || {}).forEach((k) => names.add(k))
    ;(s.allOf || []).forEach(visit)
  }
  visit(media.schema)
  return names
}

function find(ops, method, path) {
  return ops.get(`${method} ${normalise(PREFIX + path)}`) || null
}

// What is wrong with one ENDPOINTS entry against the document ([] when it matches).
function problems(doc, ops, spec) {
  const found = find(ops, spec.method, spec.path)
  if (!found) return [`${spec.method} ${PREFIX}${spec.path} is not in the OpenAPI document`]
  const { op } = found
  const out = []
  const params = (op.parameters || [])
  const query = new Map(params.filter((p) => p.in === 'query').map((p) => [p.name, p]))
  ;(spec.query || []).forEach((name) => {
    if (!query.has(name)) out.push(`query parameter "${name}" is not declared`)
  })
  Object.keys(spec.queryValues || {}).forEach((name) => {
    const param = query.get(name)
    const allowed = param && resolve(doc, param.schema).enum
    spec.queryValues[name].forEach((value) => {
      if (allowed && allowed.indexOf(value) < 0) out.push(`query ${name}=${value} is not among ${JSON.stringify(allowed)}`)
    })
  })
  if (spec.idempotent && !params.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key')) {
    out.push('the Idempotency-Key header is not declared')
  }
  if (spec.body) {
    const props = bodyProperties(doc, op)
    if (!props) out.push('no JSON request body is declared')
    else spec.body.forEach((name) => { if (!props.has(name)) out.push(`body field "${name}" is not declared (the API refuses unknown fields)`) })
  }
  if (spec.multipart) {
    const content = op.requestBody && op.requestBody.content && op.requestBody.content['multipart/form-data']
    const props = content ? Object.keys(resolve(doc, content.schema).properties || {}) : []
    spec.multipart.forEach((name) => { if (props.indexOf(name) < 0) out.push(`multipart field "${name}" is not declared`) })
  }
  return out
}

module.exports = { loadDocument, normalise, operations, find, problems, bodyProperties }
