import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command, type Cluster, type Redis } from 'ioredis'
import { FST_FIFO_CONFLICT, FST_FIFO_NOT_FOUND } from '../../core/errors'
import type { Reply } from './codec'
import type { OutgoingCommand } from './connection'
import type { Watched } from './watchdog'
import { isKeyName, keySuffix, type KeyName } from './keys'

// The build copies lua/ next to the compiled JS, so this path works from both.
const LUA_DIR = join(__dirname, 'lua')

/** Every script, by file name without `.lua`. Files starting with `_` are includes. */
export type ScriptName =
  | 'enqueue' | 'claim' | 'leave' | 'complete' | 'fail' | 'release' | 'park' | 'heartbeat' | 'remove-instance' | 'sweep'
  | 'pause' | 'resume' | 'retry-head' | 'skip-head' | 'requeue-dead' | 'delete-dead'
  | 'overview' | 'list-queues' | 'get-queue' | 'queue-tasks' | 'get-task' | 'list-dead' | 'list-instances' | 'find-outcome'
  | 'throttle' | 'wake-throttled' | 'limit-acquire' | 'limit-release' | 'limit-renew' | 'limit-pause' | 'limit-resume' | 'list-limiters'

// overview and list-queues refresh running queues' listing scores, so they write.
const READ_ONLY = new Set<ScriptName>(['get-queue', 'queue-tasks', 'get-task', 'list-dead', 'list-instances', 'find-outcome'])

export interface Script {
  name: ScriptName
  lua: string
  /** SHA1 of `lua`, for EVALSHA: a changed script is a different script, so two versions sharing a Redis never run each other's code. */
  sha: string
  /** Key names in KEYS order, read from the script's `-- KEYS[i] <name>` header lines; built in Lua from the one key sent. */
  keys: KeyName[]
  readOnly: boolean
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

/**
 * A script is sent a single key, the namespace base `{prefix}:`, and rebuilds
 * the KEYS it declares from it, so the script bodies read as if every key had
 * been passed. Sending one key instead of up to 14 saves the client ~3-4 µs of
 * CPU per call (ioredis' per-argument work, fewer bytes) and costs Redis less
 * than parsing them. All keys share the base's hash tag, so a Cluster routes
 * the call by it exactly as by any of them.
 */
function keysPrologue (keys: KeyName[]): string {
  // The right-hand side still sees the global KEYS: a local is in scope only after its statement.
  return `local KEYS = {${keys.map((k) => `KEYS[1] .. '${keySuffix(k)}'`).join(', ')}}\n`
}

const { version } = require('../../../package.json') as { version: string }

/**
 * The versioned name of a script, e.g. `fastify-fifo@0.1.0/claim`.
 *
 * Why not ioredis `defineCommand` under such a name: scripts are sent by
 * EVALSHA of their text, which already makes each version's code a distinct
 * script (two versions on one Redis can never run each other's code, even two
 * builds that share a version number), with NOSCRIPT handled by an EVAL
 * fallback. Skipping defineCommand saved 1.5–3 µs of Node CPU per call and
 * leaves a client the user passed in untouched (defineCommand adds methods to
 * it). The name is still written into the script's first line, so `SCRIPT`
 * debugging and slow logs show which version and operation a script is.
 */
export function scriptName (name: ScriptName): string {
  return `fastify-fifo@${version}/${name}`
}

/**
 * How scripts signal new work. `list`: a token on the `{p}:wake` LIST that
 * idle workers BLPOP (one partition: today's namespaces, and instances of
 * earlier versions, keep waking each other). `publish`: one SPUBLISH on the
 * shard channel named like that key, in the partition's own slot (several
 * partitions: one subscriber connection per Redis node hears every partition
 * it serves, where a BLPOP could wait on one slot only).
 */
export type WakeMode = 'list' | 'publish'

function loadScripts (wake: WakeMode): Map<ScriptName, Script> {
  const scripts = new Map<ScriptName, Script>()
  for (const file of readdirSync(LUA_DIR)) {
    if (!file.endsWith('.lua') || file.startsWith('_')) continue
    const name = file.slice(0, -4) as ScriptName
    const text = readFileSync(join(LUA_DIR, file), 'utf8')
    const keys = parseKeys(file, text)
    // The first line names the package version and the script, so every
    // version's scripts are their own entries in Redis's script cache.
    // `--!df flags=allow-undeclared-keys` first: Dragonfly (which refuses keys a script did not
    // declare) reads it; to Redis it is a comment. See the README (Redis) for why keys are built in Lua.
    const lua = `--!df flags=allow-undeclared-keys\n-- ${scriptName(name)}\n` + keysPrologue(keys) + `local WAKE_PUBLISH = ${String(wake === 'publish')}\n` +
      expandIncludes(file, text, new Set())
    scripts.set(name, {
      name,
      lua,
      sha: createHash('sha1').update(lua).digest('hex'),
      keys,
      readOnly: READ_ONLY.has(name),
    })
  }
  return scripts
}

const cache = new Map<WakeMode, Map<ScriptName, Script>>()

/** All scripts in one wake mode, read once per process. */
export function scripts (wake: WakeMode = 'list'): Map<ScriptName, Script> {
  let loaded = cache.get(wake)
  if (loaded === undefined) {
    loaded = loadScripts(wake)
    cache.set(wake, loaded)
  }
  return loaded
}

const UTF8 = { replyEncoding: 'utf8' as const }
const UTF8_READ_ONLY = { replyEncoding: 'utf8' as const, readOnly: true }

/** A script bound to one namespace key: what every EVALSHA of it starts with. */
interface BoundScript {
  script: Script
  key: string
  /** RESP of `evalsha <sha> 1 <key>`, without the leading argument count. */
  head: string
}

const bulk = (text: string): string => `$${Buffer.byteLength(text)}\r\n${text}\r\n`

/**
 * One run of a script: EVALSHA with the namespace's one key, and after
 * NOSCRIPT (a restart, SCRIPT FLUSH, a Cluster node that never saw it) the
 * same as EVAL, which also loads it. Built and sent directly rather than
 * through `defineCommand`: its generated method, Script.execute and the
 * NOSCRIPT catch it chains on every call cost ~1.5-3 µs of CPU per call here.
 */
class ScriptCommand extends Command implements OutgoingCommand {
  readonly what: ScriptName
  deadline = 0
  watchPrev: Watched | null = null
  watchNext: Watched | null = null
  readonly #bound: BoundScript

  constructor (bound: BoundScript, args: Array<string | number>, withBody: boolean) {
    const { script, key } = bound
    super(withBody ? 'eval' : 'evalsha', [], script.readOnly ? UTF8_READ_ONLY : UTF8)
    // Set here, not through Command's constructor: it copies them with Array#flat and then
    // stringifies them, which (with the spread it needs) cost ~2 µs for a one-completion
    // call and ~22 µs for a batch of 17 (136 arguments); this loop ~0.5 µs. Never nested.
    const all = [withBody ? script.lua : script.sha, '1', key]
    for (const a of args) all.push(typeof a === 'string' ? a : String(a))
    this.args = all
    this.what = script.name
    this.#bound = bound
  }

  /** As Command's, with the part that is the same for every call written once per store (~0.4 µs less a call). */
  override toWritable (socket: object): string | Buffer {
    if (this.name !== 'evalsha') return super.toWritable(socket)
    const args = this.args as string[]
    let out = `*${args.length + 1}\r\n${this.#bound.head}`
    for (let i = 3; i < args.length; i++) out += `$${Buffer.byteLength(args[i])}\r\n${args[i]}\r\n`
    return out
  }

  instead (err: unknown): OutgoingCommand | null {
    if (this.name !== 'evalsha' || !(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) return null
    return new ScriptCommand(this.#bound, (this.args as string[]).slice(3), true)
  }
}

/** Builds the commands that run scripts for one namespace on one client. */
export class ScriptRunner {
  readonly #bound = new Map<ScriptName, BoundScript>()

  /** `base`: the namespace's `{prefix}:`, the one key every script gets (with the client's keyPrefix, as ioredis would add it). */
  constructor (client: Redis | Cluster, base: string, wake: WakeMode = 'list') {
    const key = (client.options.keyPrefix ?? '') + base
    for (const script of scripts(wake).values()) {
      this.#bound.set(script.name, { script, key, head: bulk('evalsha') + bulk(script.sha) + bulk('1') + bulk(key) })
    }
  }

  command (name: ScriptName, args: Array<string | number>): OutgoingCommand {
    const bound = this.#bound.get(name)
    if (bound === undefined) throw new Error(`fifo: no script named ${name}`)
    return new ScriptCommand(bound, args, false)
  }
}

/**
 * Outcome codes the scripts return instead of raising errors (see each
 * script's header), mapped here to the store's typed errors.
 */
export enum ScriptOutcome {
  Fenced = -1,
  NoSuchQueue = -2,
  NoSuchDeadLetter = -3,
  HeadRunning = -4,
  QueueEmpty = -5,
  WrongState = -6,
  CorruptDeadLetter = -7,
}

export function outcomeError (code: number, subject: string, detail?: Reply): Error {
  const q = JSON.stringify(subject)
  switch (code) {
    case ScriptOutcome.NoSuchQueue: return new FST_FIFO_NOT_FOUND(`queue ${q} does not exist (it has no tasks and is not paused or halted)`)
    case ScriptOutcome.NoSuchDeadLetter: return new FST_FIFO_NOT_FOUND(`dead letter ${q} does not exist`)
    case ScriptOutcome.HeadRunning: return new FST_FIFO_CONFLICT(`queue ${q} is running its head: pause it and skip once the head has settled`)
    case ScriptOutcome.QueueEmpty: return new FST_FIFO_CONFLICT(`queue ${q} is empty: there is no head to skip`)
    case ScriptOutcome.WrongState: return new FST_FIFO_CONFLICT(`queue ${q} is ${String(detail)}: only a halted, retrying or throttled head can be retried`)
    case ScriptOutcome.CorruptDeadLetter: return new FST_FIFO_CONFLICT(`dead letter ${q} is corrupt and cannot be requeued; delete it instead`)
    default: return new Error(`fifo: unexpected script outcome ${code} for ${q}`)
  }
}
