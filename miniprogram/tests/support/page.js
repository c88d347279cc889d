// Loads a page or component of the mini-program into miniprogram-simulate and attaches it.
const fs = require('fs')
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.resolve(__dirname, '..', '..')

// jest keeps required modules cached, so a page's or component's Component() runs once per test
// file: each definition is registered once (its own components first, passed in by id, so two
// pages using <photo-picker> share one registration) and each test renders a fresh instance.
const loaded = {}

function register(full) {
  if (!loaded[full]) {
    const json = JSON.parse(fs.readFileSync(`${full}.json`, 'utf8'))
    const using = {}
    Object.keys(json.usingComponents || {}).forEach((tag) => {
      const rel = json.usingComponents[tag]
      using[tag] = register(rel.startsWith('/') ? path.join(ROOT, rel) : path.join(path.dirname(full), rel))
    })
    loaded[full] = simulate.load(full, { compiler: 'simulate', rootPath: ROOT, usingComponents: using })
  }
  return loaded[full]
}

function load(relPath, props) {
  const id = register(path.join(ROOT, relPath))
  const comp = simulate.render(id, props)
  const parent = document.createElement('parent-wrapper')
  comp.attach(parent)
  return comp
}

function loadPage(name, props) {
  return load(path.join('pages', name, 'index'), props)
}

// Lets pending promises, fake responses and setData settle.
async function flush(rounds) {
  for (let i = 0; i < (rounds || 8); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
}

function find(comp, selector, index) {
  const nodes = comp.querySelectorAll(selector)
  const node = nodes[index || 0]
  if (!node) throw new Error(`nothing matches ${selector}${index ? ` [${index}]` : ''}`)
  return node
}

// Taps the index-th node matching selector (its data-* attributes become the dataset), then
// lets the handler and its fake requests settle.
async function tap(comp, selector, index) {
  find(comp, selector, index).dispatchEvent('tap')
  await flush()
}

async function input(comp, selector, value, index) {
  find(comp, selector, index).dispatchEvent('input', { detail: { value } })
  await flush()
}

async function fire(comp, selector, eventName, detail, index) {
  find(comp, selector, index).dispatchEvent(eventName, { detail })
  await flush()
}

function text(comp) {
  return comp.dom.textContent.replace(/\s+/g, ' ')
}

module.exports = { ROOT, load, loadPage, flush, find, tap, input, fire, text, simulate }
