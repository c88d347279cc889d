// A `wx` whose request / uploadFile really go over HTTP (node's fetch and FormData), with its own
// storage: one per person in the end-to-end story. `dropNextAnswer(method, path)` lets the
// request reach the server but loses the answer, as a weak mobile network does.
const fs = require('fs')
const path = require('path')

const { splitUrl } = require('./wx')

function bridgeWx() {
  const storage = new Map()
  let drop = null
  const sent = []

  function parse(text) {
    try {
      return JSON.parse(text)
    } catch (err) {
      return text
    }
  }

  return {
    sent,
    dropNextAnswer(method, urlPath) {
      drop = { method, path: urlPath }
    },
    getStorageSync: (key) => (storage.has(key) ? JSON.parse(storage.get(key)) : ''),
    setStorageSync: (key, value) => { storage.set(key, JSON.stringify(value)) },
    removeStorageSync: (key) => { storage.delete(key) },

    request(opts) {
      const headers = Object.assign({}, opts.header)
      const init = { method: opts.method, headers }
      if (opts.method !== 'GET' && opts.data !== undefined) init.body = JSON.stringify(opts.data)
      const { path: urlPath } = splitUrl(opts.url)
      sent.push({ method: opts.method, path: urlPath, headers })
      fetch(opts.url, init).then(async (res) => {
        const text = await res.text()
        if (drop && drop.method === opts.method && drop.path === urlPath) {
          drop = null
          opts.fail({ errMsg: 'request:fail timeout' }) // the server did the work; the answer is lost
          return
        }
        opts.success({ statusCode: res.status, data: parse(text), header: Object.fromEntries(res.headers) })
      }, (err) => opts.fail({ errMsg: `request:fail ${err.message}` }))
      return { abort() {} }
    },

    uploadFile(opts) {
      const listeners = []
      const run = async () => {
        const form = new FormData()
        Object.keys(opts.formData || {}).forEach((k) => form.append(k, opts.formData[k]))
        const bytes = fs.readFileSync(opts.filePath)
        form.append(opts.name, new Blob([bytes]), path.basename(opts.filePath))
        listeners.forEach((fn) => fn({ progress: 50, totalBytesSent: bytes.length / 2, totalBytesExpectedToSend: bytes.length }))
        const res = await fetch(opts.url, { method: 'POST', headers: opts.header || {}, body: form })
        const text = await res.text()
        listeners.forEach((fn) => fn({ progress: 100, totalBytesSent: bytes.length, totalBytesExpectedToSend: bytes.length }))
        opts.success({ statusCode: res.status, data: text }) // a string, as in WeChat
      }
      run().catch((err) => opts.fail({ errMsg: `uploadFile:fail ${err.message}` }))
      return { onProgressUpdate: (fn) => listeners.push(fn), abort() {} }
    },
  }
}

module.exports = { bridgeWx }
