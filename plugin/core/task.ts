import { FST_FIFO_INVALID_ARGUMENT, FST_FIFO_INVALID_QUEUE, FST_FIFO_PAYLOAD_TOO_LARGE } from './errors'
import { show } from './options'

/**
 * Arguments travel as JSON. A value is accepted only if JSON gives the handler
 * back exactly what the caller passed; anything JSON would drop, change or choke
 * on is refused here, at call time, with the argument's position and path.
 */
export const MAX_DEPTH = 64

// C0 and C1 control characters; queue and handler names must not contain them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** Checks a queue name (from a fixed option or a queue function) and returns it. */
export function checkQueueName (queue: unknown, taskName: string): string {
  if (typeof queue !== 'string') {
    throw new FST_FIFO_INVALID_QUEUE(`for task "${taskName}" must be a string, got ${show(queue)}`)
  }
  if (queue.length === 0 || queue.length > 256) {
    throw new FST_FIFO_INVALID_QUEUE(`for task "${taskName}" must be 1 to 256 characters, got ${queue.length}: ${show(queue)}`)
  }
  if (CONTROL.test(queue)) {
    throw new FST_FIFO_INVALID_QUEUE(`for task "${taskName}" must not contain control characters, got ${show(queue)}`)
  }
  if (!queue.isWellFormed()) {
    throw new FST_FIFO_INVALID_QUEUE(`for task "${taskName}" must be well-formed unicode (it has a lone surrogate), got ${show(queue)}`)
  }
  return queue
}

/** Task (handler) names follow the same rules as queue names, shorter. */
export function isValidTaskName (name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 128 && !CONTROL.test(name) && name.isWellFormed()
}

function refuse (task: string, position: number, path: string, why: string): never {
  throw new FST_FIFO_INVALID_ARGUMENT(task, `#${position + 1}${path === '' ? '' : ` at ${path}`}`, why)
}

function keyPath (path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`
}

function checkValue (task: string, position: number, value: unknown, path: string, seen: object[], depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) refuse(task, position, path, `is ${value}, which JSON cannot carry (it becomes null)`)
      if (Object.is(value, -0)) refuse(task, position, path, 'is -0, which JSON turns into 0; pass 0')
      return
    case 'undefined':
      refuse(task, position, path, 'is undefined, which JSON cannot carry (it becomes null or disappears)')
      break
    case 'bigint':
      refuse(task, position, path, `is a BigInt (${value}n), which JSON cannot carry; pass it as a string`)
      break
    case 'symbol':
      refuse(task, position, path, `is a Symbol (${value.toString()}), which JSON cannot carry`)
      break
    case 'function':
      refuse(task, position, path, `is a function (${value.name || 'anonymous'}), which JSON cannot carry`)
      break
  }
  if (value === null) return
  const obj = value as object
  if (depth >= MAX_DEPTH) refuse(task, position, path, `is nested deeper than ${MAX_DEPTH} levels`)
  if (seen.includes(obj)) refuse(task, position, path, 'is a circular reference')
  seen.push(obj)
  if (Array.isArray(obj)) {
    if (Object.getPrototypeOf(obj) !== Array.prototype) refuse(task, position, path, 'is an array subclass, which JSON turns into a plain array')
    const keys = Object.keys(obj)
    if (keys.length !== obj.length) {
      for (let i = 0; i < obj.length; i++) {
        if (!Object.hasOwn(obj, i)) refuse(task, position, `${path}[${i}]`, 'is a hole in a sparse array, which JSON turns into null')
      }
      refuse(task, position, path, 'is an array with extra non-index properties, which JSON drops')
    }
    for (let i = 0; i < obj.length; i++) checkValue(task, position, obj[i], `${path}[${i}]`, seen, depth + 1)
  } else {
    const proto = Object.getPrototypeOf(obj)
    if (proto !== Object.prototype && proto !== null) {
      const name = (obj.constructor as { name?: string } | undefined)?.name ?? 'unknown class'
      const hint = obj instanceof Date ? '; pass date.toISOString()' : (obj instanceof Map || obj instanceof Set) ? '; pass an array' : ''
      refuse(task, position, path, `is an instance of ${name}, which JSON turns into a plain value${hint}`)
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) refuse(task, position, path, 'has Symbol keys, which JSON drops')
    for (const key of Object.keys(obj)) {
      const desc = Object.getOwnPropertyDescriptor(obj, key)
      if (desc !== undefined && (desc.get !== undefined || desc.set !== undefined)) {
        refuse(task, position, keyPath(path, key), 'is an accessor property; pass a plain value')
      }
      const v = (obj as Record<string, unknown>)[key]
      // An undefined property is simply absent after JSON, which reads back as undefined.
      if (v === undefined) continue
      checkValue(task, position, v, keyPath(path, key), seen, depth + 1)
    }
  }
  seen.pop()
}

/**
 * Validates the arguments of one call and returns their JSON text. Trailing
 * `undefined` arguments (omitted optional parameters) are dropped.
 */
export function serializeArgs (task: string, args: unknown[], maxPayloadBytes: number): string {
  let end = args.length
  while (end > 0 && args[end - 1] === undefined) end--
  const kept = end === args.length ? args : args.slice(0, end)
  const seen: object[] = []
  for (let i = 0; i < kept.length; i++) checkValue(task, i, kept[i], '', seen, 0)
  const json = JSON.stringify(kept)
  // Cheap upper bound first: UTF-8 is at most 3 bytes per UTF-16 unit.
  if (json.length * 3 > maxPayloadBytes) {
    const bytes = Buffer.byteLength(json)
    if (bytes > maxPayloadBytes) throw new FST_FIFO_PAYLOAD_TOO_LARGE(task, bytes, maxPayloadBytes)
  }
  return json
}

/** Parses stored arguments; throws a plain Error naming what is wrong (the caller dead-letters the task). */
export function parseArgs (payload: string): unknown[] {
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch (err) {
    throw new Error(`arguments are not valid JSON (${(err as Error).message})`)
  }
  if (!Array.isArray(value)) throw new Error(`arguments are not a JSON array, got ${show(value)}`)
  return value
}

// Exported for the admin API and tests.
export { show }
