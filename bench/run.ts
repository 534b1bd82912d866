/**
 * fastify-fifo side by side with BullMQ and GroupMQ, on a Redis this script
 * starts itself on a free loopback port (never 6379), in interleaved rounds.
 *
 *   npm run bench                       full run (about 15 minutes)
 *   npm run bench -- --quick            smaller counts, fewer rounds (under 3 minutes)
 *   npm run bench -- --json FILE        also write every figure as JSON rows
 *   npm run bench -- --only serial-drain,pickup-latency --systems fastify-fifo,bullmq --rounds 5
 *   npm run bench -- --only saturate --base main   also runs fastify-fifo of commit `main` (system
 *                                                   fastify-fifo-base) in every round: before → after
 *
 * See bench/README.md for what each scenario measures.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { Bench, config, log } from './lib/context'
import { parseInfo, startRedis } from './lib/redis'
import { optInLine, table, targets, targetTable } from './lib/report'
import { SCENARIOS, scenario } from './scenarios/index'
import { SYSTEMS, type SystemName } from './systems/types'
import { prepare, type Side } from './lib/trees'

interface Args { quick: boolean, json: string | null, only: string[], systems: SystemName[], rounds: number | undefined, base: string | null }

function parseArgs (argv: string[]): Args {
  const args: Args = { quick: false, json: null, only: SCENARIOS.map((s) => s.name), systems: [...SYSTEMS], rounds: undefined, base: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--quick') args.quick = true
    else if (a === '--json') args.json = value()
    else if (a === '--only') {
      args.only = value().split(',')
      for (const s of args.only) if (scenario(s) === undefined) throw new Error(`unknown scenario "${s}" (known: ${SCENARIOS.map((x) => x.name).join(', ')})`)
    } else if (a === '--systems') {
      args.systems = value().split(',') as SystemName[]
      for (const s of args.systems) if (!SYSTEMS.includes(s) && s !== 'fastify-fifo-base') throw new Error(`unknown system "${s}" (known: ${SYSTEMS.join(', ')})`)
    } else if (a === '--rounds') {
      args.rounds = Number(value())
      if (!Number.isInteger(args.rounds) || args.rounds < 1) throw new Error('--rounds must be a whole number ≥ 1')
    } else if (a === '--base') {
      args.base = value()
    } else throw new Error(`unknown argument "${a}" (known: --quick, --json FILE, --only a,b, --systems a,b, --rounds N, --base REF)`)
  }
  if (args.base === null && args.systems.includes('fastify-fifo-base')) throw new Error('fastify-fifo-base needs --base REF')
  // The base runs right after this tree's fastify-fifo in the first round (the rounds rotate from there).
  if (args.base !== null && !args.systems.includes('fastify-fifo-base')) args.systems.splice(args.systems.indexOf('fastify-fifo') + 1, 0, 'fastify-fifo-base')
  return args
}

function versionOf (pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version
  } catch {
    return '?'
  }
}

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const cfg = config(args.quick, args.rounds)
  const started = Date.now()
  const load0 = loadavg().map((l) => l.toFixed(1)).join(' ')
  // Forked children inherit the environment: fastify-fifo-base loads its plugin from here.
  const scratch = args.base === null ? null : mkdtempSync(join(tmpdir(), 'fifo-bench-base-'))
  const base: Side | null = args.base === null || scratch === null ? null : prepare('base', args.base, scratch)
  const removeBase = (): void => { if (scratch !== null) rmSync(scratch, { recursive: true, force: true }) }
  if (base !== null) process.env.FIFO_BENCH_BASE_TREE = base.tree
  const redis = await startRedis()
  const admin = redis.client()
  const stopRedis = (): void => { removeBase(); redis.cleanup().finally(() => process.exit(130)) }
  process.once('SIGINT', stopRedis)
  process.once('SIGTERM', stopRedis)
  try {
    const server = parseInfo(await admin.info('server'))
    const machine = `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}, Redis ${server.get('redis_version') ?? '?'} (loopback, no persistence), ` +
      `BullMQ ${versionOf('bullmq')}, GroupMQ ${versionOf('groupmq')}, ioredis ${versionOf('ioredis')}`
    log(`bench ${args.quick ? 'quick' : 'full'}: ${machine}; redis on port ${redis.port}`)
    const bench = new Bench(redis, admin, cfg, args.systems)
    for (const name of args.only) {
      log(`${name}:`)
      await scenario(name)?.run(bench)
    }
    const rows = bench.rows()
    const lines: string[] = []
    lines.push(`# fastify-fifo bench (${args.quick ? 'quick' : 'full'}), ${machine}`)
    if (base !== null) lines.push(`fastify-fifo-base: commit ${base.sha} (--base ${base.ref}); fastify-fifo: this tree`)
    lines.push(`median (min–max) of the runs; ratios are medians (min–max) of per-round ratios (fastify-fifo ÷ the peer or limit measured in the same round); took ${Math.round((Date.now() - started) / 1000)} s; load average at start ${load0}, at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
    lines.push('')
    lines.push(table(rows))
    lines.push('')
    lines.push(targetTable(targets(rows)))
    const optIn = optInLine(rows)
    if (optIn !== null) lines.push('', optIn)
    if (bench.profiles.size > 0) {
      lines.push('')
      lines.push('Redis time per task by command (commands run inside scripts are also listed under their own name):')
      for (const [id, p] of bench.profiles) {
        const top = [...p.commands.entries()].sort((a, b) => b[1].usec - a[1].usec).slice(0, 8)
        lines.push(`- ${id}: ${top.map(([name, c]) => `${name} ${(c.calls / p.units).toFixed(2)}×/${(c.usec / p.units).toFixed(1)} µs`).join(', ')}`)
      }
    }
    if (bench.memoryLines.length > 0) {
      lines.push('')
      lines.push('fastify-fifo keys in the memory scenario (MEMORY USAGE):')
      for (const l of bench.memoryLines) lines.push(`- ${l}`)
    }
    if (bench.notes.length > 0) {
      lines.push('')
      lines.push('Notes:')
      for (const n of bench.notes) lines.push(`- ${n}`)
    }
    process.stdout.write(lines.join('\n') + '\n')
    if (args.json !== null) {
      mkdirSync(dirname(args.json), { recursive: true })
      writeFileSync(args.json, JSON.stringify(rows, null, 2) + '\n')
      log(`wrote ${rows.length} rows to ${args.json}`)
    }
  } finally {
    admin.disconnect()
    await redis.cleanup()
    removeBase()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
