import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster, type ClusterOptions } from 'ioredis'
import { freePort } from './redis-server'
import { RedisNode, waitUntil } from './redis-node'

const run = promisify(execFile)

/**
 * A real Redis Cluster on loopback, started by a test from Debian's
 * redis-server: `masters` masters with `replicasPerMaster` replicas each
 * (3 + 3 by default), AOF on, a short cluster-node-timeout so a killed
 * master's replica takes over within a couple of seconds, and
 * repl-diskless-sync-delay 0 so first syncs are not delayed by 5 s. Every
 * node is a child of the test process and dies with it.
 */
export interface ClusterStartOptions {
  masters?: number
  replicasPerMaster?: number
  /** cluster-node-timeout in ms (default 1500). */
  nodeTimeoutMs?: number
  appendonly?: boolean
  extraArgs?: string[]
}

/** One line of CLUSTER NODES. */
export interface NodeView {
  id: string
  port: number
  role: 'master' | 'replica'
  masterId: string | null
  failing: boolean
  slots: Array<[number, number]>
}

export interface ClusterNode {
  readonly node: RedisNode
  readonly port: number
  readonly addr: string
  /** The node's cluster id (stable across restarts: nodes.conf is in its dir). */
  readonly id: string
  readonly running: boolean
  /** kill -9. */
  kill: () => Promise<void>
  /** Starts it again with the same port, data and nodes.conf. */
  restart: () => Promise<void>
  /** The role the node itself reports (INFO replication). */
  role: () => Promise<'master' | 'replica'>
}

export interface TestCluster {
  readonly nodes: ClusterNode[]
  readonly nodeTimeoutMs: number
  /** The addresses to give ioredis' Cluster (every node, as started). */
  readonly startupNodes: Array<{ host: string, port: number }>
  /** A new ioredis Cluster client (the caller quits it). */
  client: (opts?: ClusterOptions) => Cluster
  /** CLUSTER NODES as seen by the first running node. */
  view: () => Promise<NodeView[]>
  /** The running masters that serve slots, per the current view. */
  masters: () => Promise<ClusterNode[]>
  /** The master currently serving `slot`. */
  masterForSlot: (slot: number) => Promise<ClusterNode>
  /** CLUSTER KEYSLOT of a key. */
  keySlot: (key: string) => Promise<number>
  /** The replicas of a master, per the current view. */
  replicasOf: (master: ClusterNode) => Promise<ClusterNode[]>
  /**
   * Waits until every running node reports cluster_state:ok, they all agree
   * on which masters serve slots, and every running replica's link is up.
   */
  waitHealthy: (timeoutMs?: number) => Promise<void>
  /**
   * kill -9 a master and wait until one of its replicas says it is master,
   * then (unless `healthy` is false) until the whole cluster is healthy again
   * (see waitHealthy). Returns the new master.
   */
  failover: (master: ClusterNode, timeoutMs?: number, healthy?: boolean) => Promise<ClusterNode>
  /** Kills every node and removes the data dirs. Idempotent. */
  cleanup: () => Promise<void>
  /** Failovers that did not happen within half their timeout and were forced with CLUSTER FAILOVER TAKEOVER. */
  forcedFailovers: number
}

export function parseClusterNodes (text: string): NodeView[] {
  const out: NodeView[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ')
    if (f.length < 8) continue
    const port = Number(f[1].split('@')[0].split(':').pop())
    const flags = f[2].split(',')
    const slots: Array<[number, number]> = []
    for (const s of f.slice(8)) {
      if (s.startsWith('[')) continue // a slot being migrated
      const [a, b] = s.split('-')
      slots.push([Number(a), Number(b ?? a)])
    }
    out.push({
      id: f[0],
      port,
      role: flags.includes('master') ? 'master' : 'replica',
      masterId: f[3] === '-' ? null : f[3],
      failing: flags.includes('fail') || flags.includes('fail?') || flags.includes('noaddr'),
      slots,
    })
  }
  return out
}

/** A free loopback port not already handed out in this launch. */
export async function uniquePort (used: Set<number>): Promise<number> {
  while (true) {
    const p = await freePort()
    if (!used.has(p)) { used.add(p); return p }
  }
}

class Member implements ClusterNode {
  readonly node: RedisNode
  id = ''
  constructor (node: RedisNode) { this.node = node }
  get port (): number { return this.node.port }
  get addr (): string { return this.node.addr }
  get running (): boolean { return this.node.running }
  async kill (): Promise<void> { await this.node.kill() }
  async restart (): Promise<void> { await this.node.start() }
  async role (): Promise<'master' | 'replica'> {
    return (await this.node.info('replication')).role === 'master' ? 'master' : 'replica'
  }
}

/** The running replica with the largest replication offset (what it has of its master's stream). */
async function mostCaughtUp (replicas: ClusterNode[]): Promise<ClusterNode | undefined> {
  let best: ClusterNode | undefined
  let bestOffset = -1
  for (const r of replicas) {
    if (!r.running) continue
    const info = await r.node.info('replication').catch(() => null)
    const offset = Number(info?.slave_repl_offset ?? info?.master_repl_offset ?? -1)
    if (offset > bestOffset) { best = r; bestOffset = offset }
  }
  return best
}

export async function startCluster (opts: ClusterStartOptions = {}): Promise<TestCluster> {
  const masters = opts.masters ?? 3
  const perMaster = opts.replicasPerMaster ?? 1
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1500
  const total = masters * (1 + perMaster)
  const nodes: Member[] = []
  const used = new Set<number>()
  let cleaned = false

  async function cleanup (): Promise<void> {
    if (cleaned) return
    cleaned = true
    await Promise.all(nodes.map(async (n) => await n.node.kill()))
    for (const n of nodes) rmSync(n.node.dir, { recursive: true, force: true })
  }

  try {
    for (let i = 0; i < total; i++) {
      const port = await uniquePort(used)
      const busPort = await uniquePort(used)
      const dir = mkdtempSync(join(tmpdir(), 'fifo-cluster-'))
      const node = new RedisNode(port, dir, [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
        '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(nodeTimeoutMs),
        // A replica may take over whatever its replication lag: a test kills masters on purpose.
        '--cluster-replica-validity-factor', '0',
        // Replicas stay with their master (no migration to one a test left without replicas).
        '--cluster-allow-replica-migration', 'no',
        '--appendonly', opts.appendonly === false ? 'no' : 'yes', '--appendfsync', 'everysec', '--save', '',
        '--repl-diskless-sync-delay', '0', '--daemonize', 'no', '--logfile', join(dir, 'redis.log'),
        ...(opts.extraArgs ?? []),
      ])
      nodes.push(new Member(node))
    }
    await Promise.all(nodes.map(async (n) => { await n.node.start() }))
    for (const n of nodes) n.id = String(await n.node.call('CLUSTER', 'MYID'))
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.addr), '--cluster-replicas', String(perMaster), '--cluster-yes'], { timeout: 60_000 })
  } catch (err) {
    await cleanup()
    throw err
  }

  const byId = (id: string): ClusterNode | undefined => nodes.find((n) => n.id === id)

  async function view (): Promise<NodeView[]> {
    for (const n of nodes) {
      if (!n.running) continue
      try { return parseClusterNodes(String(await n.node.call('CLUSTER', 'NODES'))) } catch {}
    }
    throw new Error('no cluster node answers')
  }

  const cluster: TestCluster = {
    nodes,
    nodeTimeoutMs,
    startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    client (clientOpts: ClusterOptions = {}) {
      const c = new Cluster(cluster.startupNodes, clientOpts)
      c.on('error', () => {})
      return c
    },
    view,
    async masters () {
      const v = await view()
      return v.filter((x) => x.role === 'master' && !x.failing && x.slots.length > 0)
        .map((x) => byId(x.id)).filter((n): n is ClusterNode => n !== undefined && n.running)
    },
    async masterForSlot (slot: number) {
      const v = await view()
      const m = v.find((x) => x.role === 'master' && !x.failing && x.slots.some(([a, b]) => slot >= a && slot <= b))
      const n = m === undefined ? undefined : byId(m.id)
      if (n === undefined) throw new Error(`no live master serves slot ${slot}`)
      return n
    },
    async keySlot (key: string) {
      const live = nodes.find((n) => n.running)
      if (live === undefined) throw new Error('no cluster node runs')
      return Number(await live.node.call('CLUSTER', 'KEYSLOT', key))
    },
    async replicasOf (master: ClusterNode) {
      const v = await view()
      return v.filter((x) => x.masterId === master.id).map((x) => byId(x.id)).filter((n): n is ClusterNode => n !== undefined)
    },
    async waitHealthy (timeoutMs = 30_000) {
      await waitUntil('a healthy cluster', async () => {
        const running = nodes.filter((n) => n.running)
        const views: string[] = []
        for (const n of running) {
          const info = String(await n.node.call('CLUSTER', 'INFO'))
          if (!info.includes('cluster_state:ok')) return false
          const v = parseClusterNodes(String(await n.node.call('CLUSTER', 'NODES')))
          const me = v.find((x) => x.id === n.id)
          // A running node must not be seen failing, by anyone.
          if (v.some((x) => x.failing && nodes.find((y) => y.id === x.id)?.running === true)) return false
          if (me?.role === 'replica') {
            const repl = await n.node.info('replication')
            if (repl.master_link_status !== 'up') return false
          }
          // Everyone must agree on who serves which slots and who replicates whom.
          const live = v.filter((x) => !x.failing && nodes.find((y) => y.id === x.id)?.running === true)
          views.push(live.map((x) => x.role === 'master'
            ? `${x.id}:${x.slots.map(([a, b]) => `${a}-${b}`).join(',')}`
            : `${x.id}>${x.masterId ?? ''}`).sort().join(' '))
        }
        return views.length === running.length && views.length > 0 && views.every((x) => x === views[0])
      }, timeoutMs, 100)
    },
    forcedFailovers: 0,
    async failover (master: ClusterNode, timeoutMs = 30_000, healthy = true) {
      const replicas = await cluster.replicasOf(master)
      if (replicas.length === 0) throw new Error(`master ${master.addr} has no replica`)
      await master.kill()
      let promoted: ClusterNode | undefined
      try {
        const forceAt = Date.now() + timeoutMs / 2
        let forced = false
        await waitUntil(`a replica of ${master.addr} to take over`, async () => {
          for (const r of replicas) {
            if (r.running && (await r.role()) === 'master') { promoted = r; return true }
          }
          // An election can stall on an overloaded machine: do what an operator would, once — take
          // over with the replica that has the most of the master's data (as the election ranks them).
          // Forcing any other replica throws away writes another replica acknowledged (WAIT).
          if (!forced && Date.now() > forceAt) {
            const best = await mostCaughtUp(replicas)
            if (best !== undefined) {
              forced = true
              cluster.forcedFailovers++
              await best.node.call('CLUSTER', 'FAILOVER', 'TAKEOVER').catch(() => {})
            }
          }
          return false
        }, timeoutMs, 50)
      } catch (err) {
        const seen = await view().catch(() => [])
        throw new Error(`${(err as Error).message}; replicas ${replicas.map((r) => `${r.addr}${r.running ? '' : ' (down)'}`).join(', ')}; view: ${seen.map((x) => `${x.port}:${x.role}${x.failing ? ':fail' : ''}>${x.masterId?.slice(0, 6) ?? ''}`).join(' ')}`)
      }
      if (healthy) await cluster.waitHealthy(timeoutMs)
      return promoted as ClusterNode
    },
    cleanup,
  }

  try {
    await cluster.waitHealthy(60_000)
  } catch (err) {
    await cleanup()
    throw err
  }
  return cluster
}
