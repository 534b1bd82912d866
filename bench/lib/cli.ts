import { writeFileSync } from 'node:fs'

/** Every value given as `--name value` on the command line, in order (a flag may repeat). */
export function arg (name: string): string[] {
  const out: string[] = []
  for (let i = 2; i < process.argv.length; i++) if (process.argv[i] === `--${name}`) out.push(process.argv[i + 1])
  return out
}

/** The number given as `--name N`, or `fallback`. */
export function num (name: string, fallback: number): number {
  const v = arg(name)[0]
  return v === undefined ? fallback : Number(v)
}

/** Writes `rows` as JSON to the file named by `--json FILE`, if one was given. */
export function writeJsonArg (rows: unknown[]): void {
  const json = arg('json')[0]
  if (json !== undefined) writeFileSync(json, JSON.stringify(rows, null, 2) + '\n')
}
