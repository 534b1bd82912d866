import '../helpers/guard'
import t from 'tap'
import Fastify from 'fastify'
import fifo from '../../plugin'

t.test('bad options are refused at register, naming the option and the value', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ leaseMs: -5 }, /"leaseMs" option must be a whole number of milliseconds from 200 to 3600000, got -5 \(number\)/],
    [{ concurrency: 0 }, /"concurrency" option .* got 0/],
    [{ concurrency: 1.5 }, /"concurrency" option .* got 1\.5/],
    [{ prefix: '' }, /"prefix" option/],
    [{ prefix: 'a b' }, /"prefix" option .* "a b"/],
    [{ nope: 1 }, /"nope" option is not an option of fastify-fifo/],
    [{ dashboard: { path: 'fifo' } }, /"dashboard.path" option/],
    [{ dashboard: { auth: 'secret' } }, /"dashboard.auth" option must be a function/],
    [{ dashboard: { color: 'red' } }, /"dashboard.color" option is not a dashboard option/],
    [{ redis: 42 }, /"redis" option/],
    [{ worker: 'yes' }, /"worker" option must be true or false, got "yes"/],
    [{ maxPayloadBytes: 'big' }, /"maxPayloadBytes" option/],
    [{ pipelinedAcks: -1 }, /"pipelinedAcks" option .* got -1/],
    [{ pipelinedAcks: 2.5 }, /"pipelinedAcks" option .* got 2\.5/],
    [{ pipelinedAcks: 5000 }, /"pipelinedAcks" option .* got 5000/],
  ]
  for (const [opts, message] of cases) {
    const app = Fastify()
    await t.rejects((async () => { await app.register(fifo, opts as never); await app.ready() })(), { code: 'FST_FIFO_INVALID_OPTION', message }, JSON.stringify(opts))
    await app.close()
  }
})

t.test('a bad Redis URL never echoes the URL (it may hold a password)', async (t) => {
  const app = Fastify()
  const err = await (async () => { await app.register(fifo, { redis: 'http://user:hunter2@example' }); await app.ready() })().catch((e: Error) => e)
  t.match(err, { code: 'FST_FIFO_INVALID_OPTION' })
  t.notMatch((err as Error).message, /hunter2/)
  await app.close()
})
