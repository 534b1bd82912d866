import type { Store } from '../../plugin/store/store'
import type { FinalState } from './checker'

/** What the store holds at the end of a run, through its read API: pending task ids and dead letters. */
export async function finalState (store: Store): Promise<FinalState> {
  const pending: FinalState['pending'] = []
  for (let offset = 0; ; offset += 500) {
    const page = await store.listQueues({ offset, limit: 500 })
    for (const q of page.items) {
      for (let at = 0; at < q.depth; at += 500) {
        const tasks = await store.queueTasks(q.name, at, 500)
        for (const task of tasks.items) pending.push({ id: task.id, queue: task.queue })
      }
    }
    if (offset + 500 >= page.total) break
  }
  const dead: FinalState['dead'] = []
  for (let offset = 0; ; offset += 500) {
    const page = await store.listDead(offset, 500)
    for (const d of page.items) dead.push({ id: d.id, queue: d.queue, reason: d.reason })
    if (offset + 500 >= page.total) break
  }
  return { pending, dead }
}
