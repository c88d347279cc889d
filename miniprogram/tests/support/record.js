// What the pages and services read from mocked API responses. The stubbed wx (./wx.js) hands
// every mocked response body to the page wrapped in a recording Proxy: each property read is
// logged as a field path ("grid_workers[].display_name") with the call it came from. The
// contract test runs the page tests with this on and checks every logged field, and every mocked
// body, against the OpenAPI response schema of that call — so a page reading `items` where the
// API answers `grid_workers` fails there, whatever its mock said.

// Keys that JavaScript itself, Promise resolution, JSON and jest's matchers look up on any
// object: not the page reading a response field.
const IGNORED = new Set([
  'then', 'toJSON', 'constructor', '__proto__', 'valueOf', 'toString', 'toLocaleString',
  'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'asymmetricMatch', '$$typeof',
  'nodeType', 'tagName', '@@__IMMUTABLE_ITERABLE__@@', '@@__IMMUTABLE_RECORD__@@', '_isMockFunction',
])

const reads = [] // {method, path, status, field}
const served = [] // {method, path, status, body}
const origins = new WeakMap() // proxy → {call, prefix}: lets storage keep recording

function note(call, field) {
  reads.push({ method: call.method, path: call.path, status: call.status, field })
}

function wrap(value, call, prefix) {
  if (value === null || typeof value !== 'object') return value
  const children = new Map()
  const child = (key, v, path) => {
    if (v === null || typeof v !== 'object') return v
    if (!children.has(key) || children.get(key).target !== v) children.set(key, { target: v, proxy: wrap(v, call, path) })
    return children.get(key).proxy
  }
  const proxy = new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver)
      if (typeof key === 'symbol') return v
      if (Array.isArray(target)) {
        // Elements are the same field as the array ("items[]"); length and methods are not fields.
        return /^\d+$/.test(key) ? child(key, v, `${prefix}[]`) : v
      }
      if (IGNORED.has(key)) return v
      if (!Object.prototype.hasOwnProperty.call(target, key) && key in Object.prototype) return v
      const path = prefix ? `${prefix}.${key}` : key
      note(call, path)
      return child(key, v, path)
    },
  })
  origins.set(proxy, { call, prefix })
  return proxy
}

// A mocked response as the page will see it; the body is remembered for the shape check.
function response(call, body) {
  if (body !== null && typeof body === 'object') served.push(Object.assign({}, call, { body: JSON.parse(JSON.stringify(body)) }))
  return wrap(body, call, '')
}

// Storage clones what it is given (as WeChat's does); a response kept in storage (the profile
// from GET /me) is wrapped again on the way out, so reads of it later still count.
function originOf(value) {
  return (value !== null && typeof value === 'object' && origins.get(value)) || null
}

function rewrap(value, origin) {
  return origin ? wrap(value, origin.call, origin.prefix) : value
}

function clear() {
  reads.length = 0
  served.length = 0
}

module.exports = { reads, served, response, originOf, rewrap, clear }
