import type { AdminApp, CallOptions, Reply } from './adapters'
import { errorReply, schemas } from '../../plugin/core/admin/schemas'

export { schemas }

type Schema = Record<string, unknown>

/**
 * Checks a value against the subset of JSON Schema the admin API uses (type
 * lists, properties, required, additionalProperties: false, items, enum),
 * strictly: a missing, extra or mistyped field is an error. Returns the errors.
 */
export function schemaErrors (value: unknown, schema: Schema, path = '$'): string[] {
  const errors: string[] = []
  const types = schema.type === undefined ? null : ([] as string[]).concat(schema.type as string | string[])
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value
  if (types !== null && !types.includes(actual) && !(actual === 'integer' && types.includes('number'))) {
    return [`${path}: expected ${types.join('|')}, got ${actual}`]
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum`)
  if (actual === 'object' && schema.properties !== undefined) {
    const obj = value as Record<string, unknown>
    const props = schema.properties as Record<string, Schema>
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (!(key in obj)) errors.push(`${path}.${key}: missing`)
    }
    for (const [key, v] of Object.entries(obj)) {
      if (props[key] === undefined) {
        if (schema.additionalProperties === false) errors.push(`${path}.${key}: not in the schema`)
        continue
      }
      errors.push(...schemaErrors(v, props[key], `${path}.${key}`))
    }
  }
  if (actual === 'array' && schema.items !== undefined) {
    (value as unknown[]).forEach((item, i) => errors.push(...schemaErrors(item, schema.items as Schema, `${path}[${i}]`)))
  }
  return errors
}

export function okSchema (route: keyof typeof schemas): Schema {
  return (schemas[route].response as Record<string, Schema>)[200]
}

export const errorSchema: Schema = errorReply

export type { Reply }

/** One admin API call through either adapter (see adapters.ts). Actions send JSON `{}` unless told otherwise. */
export async function call (app: AdminApp, method: string, url: string, opts: CallOptions = {}): Promise<Reply> {
  return await app.call(method, url, opts)
}

export const q = (name: string): string => `/fifo/api/queues/${encodeURIComponent(name)}`
