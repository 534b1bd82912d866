import '../helpers/guard'
import t from 'tap'
import { createHash } from 'node:crypto'
import { scriptName, scripts } from '../../plugin/store/redis/scripts'

const { version } = require('../../package.json') as { version: string }

t.test('every script carries its versioned name and is sent by the SHA of its text', async (t) => {
  const all = scripts()
  t.ok(all.size >= 20, `${all.size} scripts`)
  for (const [name, script] of all) {
    t.equal(scriptName(name), `fastify-fifo@${version}/${name}`)
    t.ok(script.lua.startsWith(`--!df flags=allow-undeclared-keys\n-- fastify-fifo@${version}/${name}\n`), `${name} starts with the Dragonfly flag line, then its versioned name`)
    t.equal(script.sha, createHash('sha1').update(script.lua).digest('hex'), `${name} sha matches its text`)
  }
  const shas = new Set([...all.values()].map((s) => s.sha))
  t.equal(shas.size, all.size, 'no two scripts share a SHA')
})
