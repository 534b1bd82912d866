import Ajv, { type ValidateFunction } from 'ajv'
import { FST_FIFO_INVALID_REQUEST } from '../core/errors'

/**
 * Request validation and response serialization for the Express adapter,
 * matching what Fastify does with the same schemas:
 * - validation uses Ajv with Fastify's default options (coerce querystring
 *   and params strings to the schema's types, fill defaults, drop properties
 *   an `additionalProperties: false` schema does not list);
 * - serialization walks the response schema as fast-json-stringify does:
 *   properties in the schema's order, only those the schema lists, so a
 *   field a store adds (or a payload hidden by showArgs) never leaks.
 */

// Fastify's defaults (@fastify/ajv-compiler). strict: false because the
// schemas carry documentation keywords and type lists.
const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: true, allErrors: false, strict: false })

export type RequestPart = 'params' | 'querystring' | 'body'

export interface Validator { part: RequestPart, validate: ValidateFunction }

export function compileValidator (part: RequestPart, schema: object): Validator {
  return { part, validate: ajv.compile(schema) }
}

/** Validates (and coerces, in place) one request part; throws FST_FIFO_INVALID_REQUEST worded as Fastify words it. */
export function check (validator: Validator | undefined, value: unknown): void {
  if (validator === undefined) return
  if (validator.validate(value) === true) return
  const first = validator.validate.errors?.[0]
  throw new FST_FIFO_INVALID_REQUEST(`${validator.part}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`)
}

type Schema = Record<string, unknown>

/** JSON text of `value` shaped by `schema`, as fast-json-stringify writes it. Throws on a missing required property. */
export function serialize (schema: Schema, value: unknown): string {
  const types = schema.type === undefined ? [] : ([] as string[]).concat(schema.type as string | string[])
  if (value === null && types.includes('null')) return 'null'
  if (types.includes('object') || (types.length === 0 && schema.properties !== undefined)) return serializeObject(schema, value)
  if (types.includes('array')) {
    if (!Array.isArray(value)) throw new TypeError(`expected an array, got ${typeof value}`)
    const items = (schema.items ?? {}) as Schema
    return '[' + value.map((item) => serialize(items, item)).join(',') + ']'
  }
  if (types.includes('integer')) return String(value === null ? 0 : Math.trunc(toNumber(value)))
  if (types.includes('number')) return String(value === null ? 0 : toNumber(value))
  if (types.includes('boolean')) return value ? 'true' : 'false'
  if (types.includes('string')) return JSON.stringify(value === null ? '' : typeof value === 'string' ? value : String(value))
  return JSON.stringify(value) ?? 'null'
}

function toNumber (value: unknown): number {
  const n = Number(value)
  if (!Number.isFinite(n)) throw new TypeError(`${String(value)} is not a finite number`)
  return n
}

function serializeObject (schema: Schema, value: unknown): string {
  if (value === null || typeof value !== 'object') throw new TypeError(`expected an object, got ${value === null ? 'null' : typeof value}`)
  const obj = value as Record<string, unknown>
  const props = (schema.properties ?? {}) as Record<string, Schema>
  const required = (schema.required ?? []) as string[]
  const parts: string[] = []
  for (const [key, sub] of Object.entries(props)) {
    const v = obj[key]
    if (v === undefined) {
      if (required.includes(key)) throw new TypeError(`"${key}" is required!`)
      continue
    }
    parts.push(JSON.stringify(key) + ':' + serialize(sub, v))
  }
  if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) {
    for (const [key, v] of Object.entries(obj)) {
      if (key in props || v === undefined) continue
      parts.push(JSON.stringify(key) + ':' + (JSON.stringify(v) ?? 'null'))
    }
  }
  return '{' + parts.join(',') + '}'
}
