/**
 * Issue 13's targets over several full runs (not part of `npm run bench`):
 *   node --import tsx bench/targets.ts RUN1.json RUN2.json RUN3.json
 * prints one Markdown row per target: each run's median of per-round figures
 * (min–max), ✓ met, ✗ missed, ⌃ missed but above a ceiling the same run
 * measured, and in how many runs the target was met or shown above a ceiling.
 */
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import type { Row } from './lib/context'
import { targets } from './lib/report'

const files = process.argv.slice(2)
if (files.length < 1) {
  process.stderr.write('usage: node --import tsx bench/targets.ts RUN.json [RUN.json …]\n')
  process.exit(2)
}
const runs = files.map((f) => targets(JSON.parse(readFileSync(f, 'utf8')) as Row[]))
const names: string[] = []
for (const checks of runs) for (const c of checks) if (!names.includes(c.target)) names.push(c.target)
const out = [`| target | ${files.map((f) => basename(f, '.json')).join(' | ')} | met or above a same-run ceiling |`]
out.push(`|---|${files.map(() => '---').join('|')}|---|`)
for (const name of names) {
  const cells = runs.map((checks) => checks.find((c) => c.target === name))
  const mark = (c: typeof cells[number]): string => c === undefined || c.pass === null ? '–' : c.pass ? `${c.measured} ✓` : `${c.measured} ${c.aboveCeiling === true ? '⌃' : '✗'}${c.bound === undefined ? '' : ` (${c.bound})`}`
  const ok = cells.filter((c) => c?.pass === true || c?.aboveCeiling === true).length
  const measured = cells.filter((c) => c !== undefined && c.pass !== null).length
  out.push(`| ${name} | ${cells.map(mark).join(' | ')} | ${ok} of ${measured} |`)
}
process.stdout.write(out.join('\n') + '\n')
