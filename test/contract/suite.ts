import { claimOnEnqueueCases } from './cases/claim-on-enqueue'
import { claimNextCases } from './cases/claim-next'
import { extrasCases } from './cases/extras'
import { failureCases } from './cases/failures'
import { flowCases } from './cases/flow'
import { leaseCases } from './cases/leases'
import { limitCases } from './cases/limits'
import { operatorCases } from './cases/operator'
import { outcomeCases } from './cases/outcomes'
import { processCases } from './cases/processes'
import { readCases } from './cases/reads'
import { wakeCases } from './cases/wake'
import type { HarnessFactory, StoreFeatures, Test } from './harness'

export type { Harness, HarnessFactory, HarnessOptions, StoreFeatures } from './harness'

/**
 * The Store contract (plugin/store/store.ts) as tests, run unchanged against
 * every store: memory.test.ts and redis.test.ts each pass a factory. Every case
 * gets a fresh store; time moves only through `advance`, so the same case
 * works on a fake clock and on Redis `TIME`. A feature a store lacks skips,
 * with the reason, the cases that need it.
 */
export function contractSuite (t: Test, factory: HarnessFactory, features: StoreFeatures): void {
  t.test('enqueue, claim, complete, release', async (t) => { flowCases(t, factory) })
  t.test('failures, retries, halts and dead letters', async (t) => { failureCases(t, factory) })
  t.test('leases, fencing, heartbeats, sweep and parking', async (t) => { leaseCases(t, factory) })
  t.test('claim on enqueue', async (t) => { claimOnEnqueueCases(t, factory) })
  t.test('claim with a completion', async (t) => { claimNextCases(t, factory, features.claimNext !== false) })
  t.test('pause, resume, dedupe and returned copies', async (t) => { operatorCases(t, factory, features) })
  t.test('admin reads', async (t) => { readCases(t, factory) })
  t.test('waiting for work', async (t) => { wakeCases(t, factory) })
  t.test('per-task extras', async (t) => { extrasCases(t, factory) })
  t.test('limiters and throttled queues', async (t) => { limitCases(t, factory) })
  t.test('outcomes of waited tasks', async (t) => { outcomeCases(t, factory) })
  t.test('durability, several processes, corrupt records', async (t) => { processCases(t, factory, features) })
}
