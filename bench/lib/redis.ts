import type { Redis } from 'ioredis'

export { startRedis, type TestRedis } from '../../test/helpers/redis-server'

/** Parses an INFO reply into key → value. */
export function parseInfo (text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1))
  }
  return out
}

export interface CommandStat { calls: number, usec: number }

/** A point-in-time reading of the server's CPU, commands and memory. */
export interface RedisSnapshot {
  cpuUs: number
  commands: Map<string, CommandStat>
  usedMemory: number
}

export async function snapshot (client: Redis): Promise<RedisSnapshot> {
  const info = parseInfo(await client.info('everything'))
  const cpuUs = (Number(info.get('used_cpu_user')) + Number(info.get('used_cpu_sys'))) * 1e6
  const commands = new Map<string, CommandStat>()
  for (const [key, value] of info) {
    if (!key.startsWith('cmdstat_')) continue
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=')))
    commands.set(key.slice('cmdstat_'.length), { calls: Number(fields.calls), usec: Number(fields.usec) })
  }
  return { cpuUs, commands, usedMemory: Number(info.get('used_memory')) }
}

export interface RedisUse {
  cpuUs: number
  /** Commands run in the window (called by clients or by scripts), busiest first; INFO itself left out. */
  commands: Array<{ name: string, calls: number, usec: number }>
}

export function diff (before: RedisSnapshot, after: RedisSnapshot): RedisUse {
  const commands: RedisUse['commands'] = []
  for (const [name, a] of after.commands) {
    if (name === 'info') continue
    const b = before.commands.get(name) ?? { calls: 0, usec: 0 }
    if (a.calls > b.calls) commands.push({ name, calls: a.calls - b.calls, usec: a.usec - b.usec })
  }
  commands.sort((x, y) => y.usec - x.usec)
  return { cpuUs: after.cpuUs - before.cpuUs, commands }
}

/** Scripts only (EVALSHA/EVAL/FCALL): what one script call costs inside Redis. */
export function scriptCalls (use: RedisUse): CommandStat {
  let calls = 0
  let usec = 0
  for (const c of use.commands) {
    if (c.name === 'evalsha' || c.name === 'eval' || c.name === 'fcall' || c.name === 'evalsha_ro' || c.name === 'eval_ro') {
      calls += c.calls
      usec += c.usec
    }
  }
  return { calls, usec }
}
