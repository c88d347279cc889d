// Component/page tests run in jsdom (miniprogram-simulate); the contract and end-to-end tests
// declare the node environment in their docblock.
module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/tests/**/*.test.js'],
  setupFilesAfterEnv: ['<rootDir>/tests/support/setup.js'],
  testTimeout: 20000,
  clearMocks: true,
}
