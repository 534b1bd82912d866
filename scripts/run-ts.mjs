// Runs a TypeScript entry file with the tsx loader:
//   node scripts/run-ts.mjs bench/run.ts [args...]
// (the same as `node --import tsx bench/run.ts`). Signals are passed on to the
// script so its own SIGINT/SIGTERM handlers close what it opened, and its exit
// code or signal becomes this process's.
import { spawn } from 'node:child_process'

const [file, ...args] = process.argv.slice(2)
if (file === undefined) {
  console.error('usage: node scripts/run-ts.mjs <file.ts> [args...]')
  process.exit(2)
}
const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit' })
const forward = (signal) => child.kill(signal)
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP']
for (const signal of signals) process.on(signal, forward)
child.on('exit', (code, signal) => {
  for (const s of signals) process.off(s, forward)
  if (signal !== null) process.kill(process.pid, signal)
  else process.exit(code ?? 1)
})
