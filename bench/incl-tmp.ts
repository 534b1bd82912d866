import { readFileSync } from 'node:fs'
const prof = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { nodes: Array<{ id: number, children?: number[], callFrame: { functionName: string, url: string, lineNumber: number } }>, samples: number[], timeDeltas: number[] }
const self = new Map<number, number>()
let total = 0
for (let i = 0; i < prof.samples.length; i++) { self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0)); total += prof.timeDeltas[i] ?? 0 }
const byId = new Map(prof.nodes.map((n) => [n.id, n]))
const incl = new Map<number, number>()
const calc = (id: number): number => { const n = byId.get(id)!; let t = self.get(id) ?? 0; for (const c of n.children ?? []) t += calc(c); incl.set(id, t); return t }
calc(prof.nodes[0].id)
const name = (n: typeof prof.nodes[0]) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')}:${n.callFrame.lineNumber + 1}`
// inclusive per function, not counting nested recursion
const agg = new Map<string, number>()
const walk = (id: number, active: Set<string>) => {
  const n = byId.get(id)!; const k = name(n)
  if (!active.has(k)) agg.set(k, (agg.get(k) ?? 0) + (self.get(id) ?? 0))
  else agg.set(k, (agg.get(k) ?? 0) + (self.get(id) ?? 0))
  const next = new Set(active); next.add(k)
  for (const c of n.children ?? []) walk(c, next)
}
// simpler: inclusive by function = sum over nodes whose ancestors don't include same key
const agg2 = new Map<string, number>()
const walk2 = (id: number, active: Set<string>) => {
  const n = byId.get(id)!; const k = name(n)
  if (!active.has(k)) agg2.set(k, (agg2.get(k) ?? 0) + incl.get(id)!)
  const next = new Set(active); next.add(k)
  for (const c of n.children ?? []) walk2(c, next)
}
walk2(prof.nodes[0].id, new Set())
const filter = process.argv[3] ? new RegExp(process.argv[3]) : /./
console.log([...agg2.entries()].filter(([k]) => filter.test(k)).sort((a, b) => b[1] - a[1]).slice(0, 45).map(([k, t]) => `${(100 * t / total).toFixed(1).padStart(5)}%  ${k}`).join('\n'))
