// Builds the published package into dist/:
//   1. tsc -p tsconfig.build.json  → CommonJS .js + .d.ts from plugin/
//   2. plugin/store/redis/lua/*.lua → dist/store/redis/lua/ (RedisStore reads them at run time)
//   3. dist/index.mjs + dist/index.d.mts, an ESM face over the CommonJS build, so
//      `import fifo from 'fastify-fifo'` and `require('fastify-fifo')` are the same object;
//      dist/express/index.mjs + .d.mts likewise for `fastify-fifo/express`.
// Then it checks the result has the shape a Fastify plugin package should have.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const require = createRequire(import.meta.url)

rmSync(dist, { recursive: true, force: true })

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
})

const luaFrom = join(root, 'plugin', 'store', 'redis', 'lua')
if (existsSync(luaFrom)) {
  cpSync(luaFrom, join(dist, 'store', 'redis', 'lua'), { recursive: true, filter: (src) => !src.endsWith('.md') })
}

// The ESM wrapper lists the CommonJS build's exports by name, read from the
// build itself, so it can never drift from plugin/index.ts.
const cjs = require(join(dist, 'index.js'))
const problems = []
if (typeof cjs !== 'function') problems.push('require() must return the plugin function (module.exports = plugin)')
if (cjs.default !== cjs) problems.push('require().default must be the plugin function')
if (cjs.fifo !== cjs) problems.push('require().fifo must be the plugin function')
if (problems.length > 0) {
  console.error('build: dist/index.js does not have the Fastify plugin shape:\n  ' + problems.join('\n  '))
  console.error('plugin/index.ts should end with: module.exports = Object.assign(fifo, module.exports)')
  process.exit(1)
}
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const names = Object.keys(cjs).filter((name) => name !== 'default' && IDENTIFIER.test(name)).sort()

writeFileSync(join(dist, 'index.mjs'), [
  '// ESM entry: the CommonJS build is the one implementation; this file only re-exports it.',
  "import plugin from './index.js'",
  '',
  'export default plugin',
  `export const { ${names.join(', ')} } = plugin`,
  '',
].join('\n'))

// The default export is typed through the named `fifo` export: from ESM, the default
// import of a CommonJS module is its module.exports, which here is the plugin itself.
writeFileSync(join(dist, 'index.d.mts'), [
  "export * from './index.js'",
  "import { fifo } from './index.js'",
  'export default fifo',
  '',
].join('\n'))

// fastify-fifo/express: the same ESM face over its CommonJS build. It must not
// load express itself (an optional peer): the app's own Express 4 or 5 is used.
const expressCjs = require(join(dist, 'express', 'index.js'))
if (typeof expressCjs.createFifo !== 'function') {
  console.error('build: dist/express/index.js does not export createFifo')
  process.exit(1)
}
const expressNames = Object.keys(expressCjs).filter((name) => name !== 'default' && IDENTIFIER.test(name)).sort()
writeFileSync(join(dist, 'express', 'index.mjs'), [
  '// ESM entry of fastify-fifo/express: re-exports the CommonJS build.',
  "import adapter from './index.js'",
  '',
  `export const { ${expressNames.join(', ')} } = adapter`,
  '',
].join('\n'))
writeFileSync(join(dist, 'express', 'index.d.mts'), "export * from './index.js'\n")

const lua = existsSync(join(dist, 'store', 'redis', 'lua')) ? readdirSync(join(dist, 'store', 'redis', 'lua')).length : 0
console.log(`build: dist/ ready (${names.length} named exports, ${expressNames.length} from fastify-fifo/express, ${lua} Lua scripts)`)
