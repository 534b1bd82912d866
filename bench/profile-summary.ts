/**
 * Summarises a V8 .cpuprofile (from bench/profile.ts or FIFO_BENCH_CPU_PROFILE):
 *   node --import tsx bench/profile-summary.ts FILE [regex]
 * prints, per function, the share of samples spent in it and in what it called
 * (inclusive; recursion counted once), optionally only functions matching regex.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode { id: number, children?: number[], callFrame: { functionName: string, url: string, lineNumber: number } }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

export function inclusive (profile: Profile): Array<[string, number]> {
  const self = new Map<number, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt)
    total += dt
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const name = (n: ProfileNode): string =>
    `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(plugin|bench)\//, '$1/')}:${n.callFrame.lineNumber + 1}`
  const subtree = new Map<number, number>()
  const sum = (id: number): number => {
    let t = self.get(id) ?? 0
    for (const c of byId.get(id)?.children ?? []) t += sum(c)
    subtree.set(id, t)
    return t
  }
  sum(profile.nodes[0].id)
  const byName = new Map<string, number>()
  const walk = (id: number, above: Set<string>): void => {
    const node = byId.get(id)
    if (node === undefined) return
    const key = name(node)
    if (!above.has(key)) byName.set(key, (byName.get(key) ?? 0) + (subtree.get(id) ?? 0))
    const next = new Set(above).add(key)
    for (const c of node.children ?? []) walk(c, next)
  }
  walk(profile.nodes[0].id, new Set())
  return [...byName.entries()].map(([k, t]): [string, number] => [k, t / total]).sort((a, b) => b[1] - a[1])
}

if (require.main === module) {
  const [file, pattern] = process.argv.slice(2)
  if (file === undefined) {
    console.error('usage: node --import tsx bench/profile-summary.ts FILE [regex]')
    process.exit(2)
  }
  const filter = new RegExp(pattern ?? '.')
  const rows = inclusive(JSON.parse(readFileSync(file, 'utf8')) as Profile).filter(([k]) => filter.test(k)).slice(0, 50)
  for (const [k, share] of rows) console.log(`${(100 * share).toFixed(1).padStart(5)}%  ${k}`)
}
