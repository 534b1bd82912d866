import '../helpers/guard'
import t from 'tap'
import { OutcomeWaiters } from '../../plugin/store/outcomes'

// OutcomeWaiters: how a wait hears an outcome whose notice came before the
// store's reply told the task's id (expect / unexpect), and that nothing
// else is kept.

const none = async (): Promise<string | null> => null

t.test('a notice heard while an expectation is open is handed to the task it turns out to be', async (t) => {
  const w = new OutcomeWaiters()
  t.teardown(() => { w.close() })
  const ticket = w.expect()
  w.deliver('1-7', 's\nq\n7')
  w.deliver('1-8', 's\nq\n8')
  t.equal(w.unexpect(ticket, '1-7'), 's\nq\n7', 'the early notice of its own task')
  // Nothing is open any more: every other early notice is dropped.
  const again = w.expect()
  t.equal(w.unexpect(again, '1-8'), undefined, 'a notice heard before an expectation opened is not kept for it')
})

t.test('notices are kept only while an expectation that opened before them is open', async (t) => {
  const w = new OutcomeWaiters()
  t.teardown(() => { w.close() })
  w.deliver('a', 'before')
  const first = w.expect()
  w.deliver('b', 'during first')
  const second = w.expect()
  w.deliver('c', 'during both')
  t.equal(w.unexpect(first, 'x'), undefined)
  // `b` came before `second` opened: no open expectation can claim it.
  t.equal(w.unexpect(second, 'b'), undefined, 'b was dropped when first closed')
  const third = w.expect()
  t.equal(w.unexpect(third, 'c'), undefined, 'c was dropped when the last one closed')
  const fourth = w.expect()
  w.deliver('d', 'one')
  w.deliver('d', 'two')
  t.equal(w.unexpect(fourth, 'd'), 'two', 'the latest notice for an id')
  t.equal(w.unexpect(w.expect()), undefined, 'an expectation closed without a task (not stored) returns nothing')
})

t.test('a wait registered after the expectation closes gets the early notice through its look', async (t) => {
  const w = new OutcomeWaiters()
  t.teardown(() => { w.close() })
  const ticket = w.expect()
  w.deliver('2-1', 'h\nq\nboom')
  const heard = w.unexpect(ticket, '2-1')
  t.equal(await w.wait('2-1', 5000, async () => heard ?? null), 'h\nq\nboom')
  t.equal(w.size, 0, 'the waiter is gone once it has its outcome')
  // Without an early notice, a later one still reaches the registered waiter.
  const t2 = w.expect()
  const early = w.unexpect(t2, '2-2')
  const waiting = w.wait('2-2', 5000, async () => early ?? null)
  w.deliver('2-2', 'd\nq\ngone')
  t.equal(await waiting, 'd\nq\ngone')
})

t.test('a failing look rejects the wait and leaves no waiter or timer', async (t) => {
  const w = new OutcomeWaiters()
  t.teardown(() => { w.close() })
  await t.rejects(w.wait('x', 60_000, async () => { throw new Error('refused') }), /refused/)
  t.equal(w.size, 0)
  t.equal(await w.wait('y', 20, none), null, 'a wait with nothing heard ends with null at its timeout')
})
