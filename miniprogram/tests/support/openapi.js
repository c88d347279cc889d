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

// --- responses ---------------------------------------------------------------------------------

// The operation that answered a concrete request path ("/api/v1/areas/3708/grid-workers"): of the
// templates that match, the one with the fewest parameters, so /tickets/mine beats /tickets/{id}.
function operationFor(doc, method, concretePath) {
  let best = null
  Object.keys(doc.paths || {}).forEach((template) => {
    const op = doc.paths[template][method.toLowerCase()]
    if (!op) return
    const params = (template.match(/\{[^}]+\}/g) || []).length
    const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`)
    if (pattern.test(concretePath) && (!best || params < best.params)) best = { template, op, params }
  })
  return best
}

// The JSON schema of an operation's answer with this status; an undeclared error status is still
// answered in the one error envelope, so it gets the schema of any declared error.
function responseSchema(op, status) {
  const responses = op.responses || {}
  const json = (r) => r && r.content && r.content['application/json'] && r.content['application/json'].schema
  if (json(responses[String(status)])) return json(responses[String(status)])
  const codes = Object.keys(responses).filter((c) => json(responses[c]))
  const same = codes.find((c) => (Number(c) >= 400) === (status >= 400))
  return same ? json(responses[same]) : null
}

// The 2xx schema of an ENDPOINTS entry.
function successSchema(doc, ops, spec) {
  const found = find(ops, spec.method, spec.path)
  if (!found) return null
  const code = Object.keys(found.op.responses || {}).find((c) => /^2/.test(c))
  return code ? responseSchema(found.op, Number(code)) : null
}

function variants(s) {
  return [].concat(s.anyOf || [], s.oneOf || [], s.allOf || [])
}

// A schema that says nothing about what is inside (a dict[str, Any], GeoJSON): any field may be read.
function freeForm(s) {
  if (variants(s).length || s.properties || s.items || s.enum) return false
  if (s.type && s.type !== 'object') return false
  return s.additionalProperties !== false
}

// "grid_workers[].display_name" → ['grid_workers', '[]', 'display_name']
function steps(field) {
  const out = []
  field.split('.').filter(Boolean).forEach((piece) => {
    const name = piece.replace(/(\[\])+$/, '')
    if (name) out.push(name)
    for (let i = 0; i < (piece.length - name.length) / 2; i += 1) out.push('[]')
  })
  return out
}

// Whether a response with this schema can have the field (in any of its variants).
function declares(doc, schema, field) {
  const walk = (raw, rest) => {
    const s = resolve(doc, raw)
    if (!rest.length) return true
    if (variants(s).some((v) => walk(v, rest))) return true
    const [step, ...tail] = rest
    if (step === '[]') return !!s.items && walk(s.items, tail)
    if (s.properties && Object.prototype.hasOwnProperty.call(s.properties, step)) return walk(s.properties[step], tail)
    if (s.additionalProperties && typeof s.additionalProperties === 'object') return walk(s.additionalProperties, tail)
    return s.additionalProperties === true || freeForm(s)
  }
  return walk(schema, steps(field))
}

const TYPES = {
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  array: Array.isArray,
  string: (v) => typeof v === 'string',
  integer: Number.isInteger,
  number: (v) => typeof v === 'number',
  boolean: (v) => typeof v === 'boolean',
  null: (v) => v === null,
}

// What is wrong with a response body against its schema ([] when it fits): undeclared fields,
// wrong types and enum values, and — unless `partial` — missing required fields.
function validate(doc, schema, value, { partial = false } = {}) {
  const check = (raw, v, at) => {
    const s = resolve(doc, raw)
    const alternatives = (s.anyOf || s.oneOf)
    if (alternatives) {
      const tries = alternatives.map((alt) => check(alt, v, at))
      const fits = tries.find((t) => !t.length)
      if (fits) return []
      return tries.reduce((a, b) => (b.length < a.length ? b : a))
    }
    const out = []
    ;(s.allOf || []).forEach((part) => out.push(...check(part, v, at)))
    if (s.nullable && v === null) return out
    if (s.enum && s.enum.indexOf(v) < 0) out.push(`${at || 'body'}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`)
    if (s.type && TYPES[s.type] && !TYPES[s.type](v)) {
      out.push(`${at || 'body'}: expected ${s.type}, got ${JSON.stringify(v)}`)
      return out
    }
    if (TYPES.object(v) && (s.properties || s.type === 'object')) {
      const props = s.properties || {}
      if (!partial) {
        (s.required || []).forEach((name) => {
          if (!(name in v)) out.push(`${at ? `${at}.` : ''}${name}: required by the schema, missing`)
        })
      }
      Object.keys(v).forEach((key) => {
        const path = at ? `${at}.${key}` : key
        if (props[key]) out.push(...check(props[key], v[key], path))
        else if (s.additionalProperties && typeof s.additionalProperties === 'object') out.push(...check(s.additionalProperties, v[key], path))
        else if (!(s.additionalProperties === true || (!s.properties && s.additionalProperties !== false))) {
          out.push(`${path}: not in the schema`)
        }
      })
    }
    if (Array.isArray(v) && s.items) v.forEach((item) => out.push(...check(s.items, item, `${at}[]`)))
    return out
  }
  return Array.from(new Set(check(schema, value, '')))
}

module.exports = {
  loadDocument, normalise, operations, find, problems, bodyProperties,
  operationFor, responseSchema, successSchema, declares, validate, resolve,
}
