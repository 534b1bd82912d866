import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import { isKeyName, type KeyName, type RedisKeys } from './keys'

// The build copies lua/ next to the compiled JS, so this path works from both.
const LUA_DIR = join(__dirname, 'lua')
const { version } = require('../../../package.json') as { version: string }

/** Every script, by file name without `.lua`. Files starting with `_` are includes. */
export type ScriptName =
  | 'enqueue' | 'claim' | 'complete' | 'fail' | 'release' | 'park' | 'heartbeat' | 'remove-instance' | 'sweep'
  | 'pause' | 'resume' | 'retry-head' | 'skip-head' | 'requeue-dead' | 'delete-dead'
  | 'overview' | 'list-queues' | 'get-queue' | 'queue-tasks' | 'get-task' | 'list-dead' | 'list-instances'

// overview and list-queues refresh running queues' listing scores, so they write.
const READ_ONLY = new Set<ScriptName>(['get-queue', 'queue-tasks', 'get-task', 'list-dead', 'list-instances'])

export interface Script {
  name: ScriptName
  /** The ioredis command name: versioned, so two versions sharing a Redis never run each other's code. */
  command: string
  lua: string
  /** Key names in KEYS order, read from the script's `-- KEYS[i] <name>` header lines. */
  keys: KeyName[]
  readOnly: boolean
}

/** `fifo_0_1_0_claim` for version 0.1.0. */
export function commandName (name: string): string {
  return `fifo_${version.replace(/[^0-9A-Za-z]/g, '_')}_${name.replace(/-/g, '_')}`
}

function expandIncludes (file: string, text: string, seen: Set<string>): string {
  return text.replace(/^-- @include (_[a-z0-9-]+)$/gm, (_line, include: string) => {
    if (seen.has(include)) return `-- (${include} already included)`
    seen.add(include)
    return expandIncludes(file, readFileSync(join(LUA_DIR, `${include}.lua`), 'utf8'), seen)
  })
}

function parseKeys (file: string, text: string): KeyName[] {
  const keys: KeyName[] = []
  for (const match of text.matchAll(/^-- KEYS\[(\d+)\] (\w+)/gm)) {
    const index = Number(match[1])
    const name = match[2]
    if (index !== keys.length + 1) throw new Error(`fifo: ${file}: KEYS[${index}] is out of order (expected KEYS[${keys.length + 1}])`)
    if (!isKeyName(name)) throw new Error(`fifo: ${file}: KEYS[${index}] names "${name}", which is not in keys.ts`)
    keys.push(name)
  }
  return keys
}

function loadScripts (): Map<ScriptName, Script> {
  const scripts = new Map<ScriptName, Script>()
  for (const file of readdirSync(LUA_DIR)) {
    if (!file.endsWith('.lua') || file.startsWith('_')) continue
    const name = file.slice(0, -4) as ScriptName
    const text = readFileSync(join(LUA_DIR, file), 'utf8')
    scripts.set(name, {
      name,
      command: commandName(name),
      lua: expandIncludes(file, text, new Set()),
      keys: parseKeys(file, text),
      readOnly: READ_ONLY.has(name),
    })
  }
  return scripts
}

let cache: Map<ScriptName, Script> | null = null

/** All scripts, read once per process. */
export function scripts (): Map<ScriptName, Script> {
  cache ??= loadScripts()
  return cache
}

type ScriptMethod = (...args: Array<string | number>) => Promise<unknown>

/**
 * Runs scripts on one client. `defineCommand` registers each under its
 * versioned name; ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT
 * (after a restart or SCRIPT FLUSH). KEYS arrays are built once per store.
 */
export class ScriptRunner {
  readonly #methods = new Map<ScriptName, ScriptMethod>()
  readonly #keys = new Map<ScriptName, string[]>()

  constructor (client: Redis | Cluster, keys: RedisKeys) {
    const table = client as unknown as Record<string, ScriptMethod>
    for (const script of scripts().values()) {
      if (typeof table[script.command] !== 'function') {
        client.defineCommand(script.command, { lua: script.lua, numberOfKeys: script.keys.length, readOnly: script.readOnly })
      }
      const method = table[script.command]
      this.#methods.set(script.name, method.bind(client))
      this.#keys.set(script.name, script.keys.map((k) => keys[k]))
    }
  }

  run (name: ScriptName, args: Array<string | number>): Promise<unknown> {
    const method = this.#methods.get(name)
    const keys = this.#keys.get(name)
    if (method === undefined || keys === undefined) throw new Error(`fifo: no script named ${name}`)
    return method(...keys, ...args)
  }
}
