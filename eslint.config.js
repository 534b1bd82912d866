'use strict'

// The core and the stores know no web framework: the Fastify plugin (plugin/fastify)
// and the Express adapter (plugin/express) are thin layers over them.
// @fastify/error is allowed: a dependency-free error factory, not part of Fastify.
const frameworkFree = {
  files: ['plugin/core/**/*.ts', 'plugin/store/**/*.ts', 'plugin/decorator.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      paths: ['fastify', 'fastify-plugin', 'express'].map((name) => ({ name, message: 'the core knows no web framework; put this in plugin/fastify or plugin/express' })),
      patterns: [
        { group: ['@fastify/*', '!@fastify/error'], message: 'the core knows no web framework; put this in plugin/fastify or plugin/express' },
        { group: ['**/fastify/**', '**/express/**', '../fastify', '../express'], message: 'the core must not import an adapter' },
      ],
    }],
  },
}

module.exports = [
  ...require('neostandard')({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', '.tap/**', 'test/artifacts/**', 'coverage/**', 'bench/tmp/**'],
  }),
  frameworkFree,
]
