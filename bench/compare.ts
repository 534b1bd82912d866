/**
 * Sets the ratio rows of two bench runs side by side (not part of `npm run bench`):
 *   node --import tsx bench/compare.ts QUICK.json FULL.json [more.json …]
 * prints a Markdown table of every ratio row (median of per-round ratios,
 * min–max) per run, and how far each later run's median is from the first's.
 */
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import type { Row } from './lib/context'
import { isRatio } from './lib/report'

function fmt (r: Row | undefined): string {
  if (r === undefined) return '–'
  const unit = r.unit === 'x' ? '×' : ` ${r.unit}`
  const v = (n: number): string => n.toFixed(2)
  return r.runs < 2 ? `${v(r.value)}${unit}` : `${v(r.value)}${unit} (${v(r.min)}–${v(r.max)})`
}

const files = process.argv.slice(2)
if (files.length < 1) {
  process.stderr.write('usage: node --import tsx bench/compare.ts A.json [B.json …]\n')
  process.exit(2)
}
const runs = files.map((f) => (JSON.parse(readFileSync(f, 'utf8')) as Row[]).filter(isRatio))
const keys: string[] = []
for (const rows of runs) for (const r of rows) { const k = `${r.scenario}\u0000${r.system}\u0000${r.metric}`; if (!keys.includes(k)) keys.push(k) }
const out = [`| scenario | against | metric | ${files.map((f) => basename(f)).join(' | ')} | ${files.slice(1).map((f) => `${basename(f)} ÷ ${basename(files[0])}`).join(' | ')} |`]
out.push(`|---|---|---|${files.map(() => '---').join('|')}|${files.slice(1).map(() => '---').join('|')}|`)
for (const k of keys) {
  const [scenario, system, metric] = k.split('\u0000')
  const cells = runs.map((rows) => rows.find((r) => r.scenario === scenario && r.system === system && r.metric === metric))
  const first = cells[0]
  const rel = cells.slice(1).map((c) => first === undefined || c === undefined || first.unit !== 'x' || first.value === 0 ? '' : `${(c.value / first.value).toFixed(2)}`)
  out.push(`| ${scenario} | ${system} | ${metric} | ${cells.map(fmt).join(' | ')} | ${rel.join(' | ')} |`)
}
process.stdout.write(out.join('\n') + '\n')
