import type { Bench } from '../lib/context'
import { cluster } from './cluster'
import { http, httpExpress } from './http'
import { manyQueues, wide } from './many'
import { saturate } from './saturate'
import { enqueue, memory, pickupLatency, serialDrain } from './single'
import { throttled } from './throttled'
import { waitLatency } from './wait'

/**
 * Every scenario `npm run bench` knows, in the order a full run takes them.
 * To add one: write `async (bench) => { … }` that calls `bench.interleave`
 * (each round runs every system back to back), `bench.record` its figures
 * (the round is tagged for you, so fastify-fifo ÷ peer ratios are paired per
 * round) and `bench.pair` any limit it is set against; then add a line here.
 */
export interface Scenario {
  name: string
  run: (bench: Bench) => Promise<void>
}

export const SCENARIOS: Scenario[] = [
  { name: 'serial-drain', run: serialDrain },
  { name: 'enqueue-seq', run: async (b) => await enqueue(b, false) },
  { name: 'enqueue-concurrent', run: async (b) => await enqueue(b, true) },
  { name: 'pickup-latency', run: pickupLatency },
  { name: 'wait-latency', run: waitLatency },
  { name: 'memory', run: memory },
  { name: 'many-queues', run: manyQueues },
  { name: 'wide', run: wide },
  { name: 'http', run: http },
  { name: 'http-express', run: httpExpress },
  { name: 'saturate', run: saturate },
  { name: 'cluster', run: cluster },
  { name: 'throttled', run: throttled },
]

export function scenario (name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name)
}
