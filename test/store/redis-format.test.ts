import '../helpers/guard'
import t from 'tap'
import Fastify from 'fastify'
import fifo from '../../plugin'
import { STORE_FORMAT } from '../../plugin/store/redis/redis-store'
import { startRedis, uniquePrefix } from '../helpers/redis-server'

t.test('a namespace written in another store format is refused at startup, naming both formats', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.cleanup())
  const prefix = uniquePrefix('fmt')
  const first = Fastify()
  await first.register(fifo, { redis: redis.url, prefix, dashboard: false })
  await first.ready()
  await first.close()
  const admin = redis.client()
  t.teardown(() => admin.quit())
  t.equal(await admin.get(`{${prefix}}:format`), STORE_FORMAT, 'the first instance marks the namespace')

  const same = Fastify()
  await same.register(fifo, { redis: redis.url, prefix, dashboard: false })
  await same.ready()
  await same.close()
  t.pass('the same format starts')

  await admin.set(`{${prefix}}:format`, '999')
  const other = Fastify()
  const err = await (async () => { await other.register(fifo, { redis: redis.url, prefix, dashboard: false }); await other.ready() })().catch((e: Error) => e)
  await other.close()
  t.match(err, { code: 'FST_FIFO_STORE_FORMAT', message: new RegExp(`"${prefix}" holds tasks in store format 999.*reads format ${STORE_FORMAT}`) })
})
