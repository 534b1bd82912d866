import fc from 'fast-check'

/**
 * What "round-trips exactly" means for task arguments, and hostile values to
 * throw at a defined task.
 *
 * Equality is strict (Object.is for numbers, so -0 ≠ 0; same keys in the same
 * order; arrays without holes or extra keys; only plain or null-prototype
 * objects and plain arrays), with two deliberate allowances the plugin
 * documents: a property whose value is `undefined` counts as absent (reading
 * it gives undefined either way), and a null-prototype object arrives as a
 * plain object (same own data).
 */
export function sameAsJson (sent: unknown, got: unknown): boolean {
  if (typeof sent === 'number') return typeof got === 'number' && Object.is(sent, got)
  if (sent === null || typeof sent !== 'object') return sent === got
  if (got === null || typeof got !== 'object') return false
  if (Array.isArray(sent)) {
    if (Object.getPrototypeOf(sent) !== Array.prototype || !Array.isArray(got) || sent.length !== got.length) return false
    if (Object.keys(sent).length !== sent.length || Object.getOwnPropertySymbols(sent).length > 0) return false
    return sent.every((v, i) => sameAsJson(v, got[i]))
  }
  const proto = Object.getPrototypeOf(sent)
  if ((proto !== Object.prototype && proto !== null) || Array.isArray(got) || Object.getPrototypeOf(got) !== Object.prototype) return false
  if (Object.getOwnPropertySymbols(sent).length > 0) return false
  const sentKeys = Object.keys(sent).filter((k) => (sent as Record<string, unknown>)[k] !== undefined)
  const gotKeys = Object.keys(got)
  if (sentKeys.length !== gotKeys.length || sentKeys.some((k, i) => k !== gotKeys[i])) return false
  return sentKeys.every((k) => {
    const desc = Object.getOwnPropertyDescriptor(sent, k)
    return desc !== undefined && 'value' in desc && sameAsJson(desc.value, (got as Record<string, unknown>)[k])
  })
}

/** Object nesting depth of a value (0 for a primitive, 1 for [] or {}); Infinity when circular. */
export function depthOf (value: unknown, seen: object[] = []): number {
  if (value === null || typeof value !== 'object') return 0
  if (seen.includes(value)) return Infinity
  seen.push(value)
  let max = 0
  for (const v of Object.values(value)) max = Math.max(max, depthOf(v, seen))
  seen.pop()
  return max + 1
}

/** Whether JSON carries `value` faithfully (the plugin must then accept it, size and depth allowing). */
export function jsonFaithful (value: unknown): boolean {
  let text: string | undefined
  try {
    text = JSON.stringify([value])
  } catch {
    return false
  }
  return text !== undefined && sameAsJson(value, (JSON.parse(text) as unknown[])[0])
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
const oddChar = fc.oneof(
  loneSurrogate,
  fc.constantFrom('\u0000', '\u2028', '\u2029', '\ufeff', '\uffff', '\u0301', '\u200d', '"', '\\', '\n', '\r\n', '\t', '\u001b', '\u007f', '💥', '👩‍👩‍👧', '𝕏', 'ǅ', 'İ'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
)
export const oddString = fc.string({ unit: oddChar, maxLength: 60 })

const protoKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf')

/** Objects that carry prototype-pollution keys as own data properties (as JSON.parse makes them). */
export const pollutingObject = fc.tuple(protoKeys, fc.jsonValue({ maxDepth: 2 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }))
  .map(([key, value, rest]) => {
    const text = `{${JSON.stringify(key)}:${JSON.stringify(value)}${Object.keys(rest).length > 0 ? ',' + JSON.stringify(rest).slice(1, -1) : ''}}`
    return JSON.parse(text) as Record<string, unknown>
  })

/** Anything fast-check can make, JSON or not. */
export const anything = fc.anything({
  maxDepth: 5,
  maxKeys: 6,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withTypedArray: true,
  withSparseArray: true,
  withUnicodeString: true,
})

/** Nested arrays/objects `depth` levels deep. */
export function nested (depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 'leaf'
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { k: value }
  return value
}

class Point {
  x = 1
  y = 2
}

/** Values JSON cannot carry faithfully, one per kind, each with a label. */
export function hostileValues (): Array<[string, unknown]> {
  const self: Record<string, unknown> = { a: 1 }
  self.self = self
  const deepCycle: Record<string, unknown> = { a: { b: { c: {} } } }
  ;((deepCycle.a as Record<string, unknown>).b as Record<string, Record<string, unknown>>).c.back = deepCycle
  const arrayCycle: unknown[] = [1]
  arrayCycle.push(arrayCycle)
  const sparse = [1, , 3] // eslint-disable-line no-sparse-arrays
  const withProp = Object.assign([1, 2], { extra: true })
  const getter = Object.defineProperty({}, 'g', { get: () => 1, enumerable: true })
  class MyArray extends Array {}
  return [
    ['BigInt', 10n],
    ['BigInt inside an object', { n: 1n }],
    ['Symbol', Symbol('s')],
    ['Symbol key', { [Symbol('k')]: 1 }],
    ['arrow function', () => 1],
    ['async function', async () => 1],
    ['class', Point],
    ['class instance', new Point()],
    ['Date', new Date(0)],
    ['RegExp', /x/g],
    ['Map', new Map([[1, 2]])],
    ['Set', new Set([1])],
    ['WeakMap', new WeakMap()],
    ['Promise', Promise.resolve(1)],
    ['Error', new Error('e')],
    ['Buffer', Buffer.from('x')],
    ['Uint8Array', new Uint8Array([1])],
    ['boxed String', new String('s')], // eslint-disable-line no-new-wrappers
    ['boxed Number', new Number(1)], // eslint-disable-line no-new-wrappers
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['-0', -0],
    ['-0 nested', { a: [0, -0] }],
    ['undefined in an array', [1, undefined]],
    ['sparse array', sparse],
    ['array with an extra property', withProp],
    ['array subclass', MyArray.from([1])],
    ['getter', getter],
    ['self-reference', self],
    ['deep cycle', deepCycle],
    ['array cycle', arrayCycle],
    ['object with toJSON', { toJSON: () => 'x' }],
  ]
}
