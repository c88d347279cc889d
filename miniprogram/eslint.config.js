// ESLint (flat config) for the mini-program and its tests.
const js = require('@eslint/js')
const globals = require('globals')

const miniprogramGlobals = {
  wx: 'readonly',
  App: 'readonly',
  Page: 'readonly',
  Component: 'readonly',
  Behavior: 'readonly',
  getApp: 'readonly',
  getCurrentPages: 'readonly',
}

module.exports = [
  { ignores: ['node_modules/**'] },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: 'commonjs',
      globals: { ...globals.commonjs, ...miniprogramGlobals, console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always'],
      'no-restricted-properties': ['error',
        { object: 'wx', property: 'request', message: 'Only services/api.js calls wx.request.' },
        { object: 'wx', property: 'uploadFile', message: 'Only services/api.js calls wx.uploadFile.' },
        { object: 'wx', property: 'downloadFile', message: 'Network calls go through services/api.js.' },
      ],
    },
  },
  {
    files: ['services/api.js'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['tests/**/*.js', 'jest.config.js', 'eslint.config.js'],
    languageOptions: {
      ecmaVersion: 2022,
      globals: { ...globals.node, ...globals.jest, ...globals.browser, ...miniprogramGlobals },
    },
    rules: { 'no-restricted-properties': 'off' },
  },
]
