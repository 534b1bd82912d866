'use strict'

module.exports = require('neostandard')({
  ts: true,
  ignores: ['dist/**', 'node_modules/**', '.tap/**', 'test/artifacts/**', 'coverage/**', 'bench/tmp/**'],
})
