/**
 * Source trees for the paired comparisons (bench/compare-commits.ts,
 * bench/compare-http.ts): a commit exported with `git archive`, or this
 * working tree, optionally without @opentelemetry/api.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(__dirname, '..', '..')

export interface Side { label: string, ref: string, noApi: boolean, tree: string, sha: string }

/** A throwaway tree for `ref` ('.' = this working tree), optionally without @opentelemetry/api. */
export function prepare (label: string, spec: string, scratch: string): Side {
  const noApi = spec.endsWith(':noapi')
  const ref = noApi ? spec.slice(0, -':noapi'.length) : spec
  const sha = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', ref === '.' ? 'HEAD' : ref], { encoding: 'utf8' }).trim()
  if (ref === '.' && !noApi) return { label, ref, noApi, tree: ROOT, sha: sha + (dirty() ? '+changes' : '') }
  const tree = join(scratch, label)
  mkdirSync(tree, { recursive: true })
  const parts = ['plugin', 'ui', 'package.json', 'tsconfig.json']
  if (ref === '.') {
    for (const p of parts) cpSync(join(ROOT, p), join(tree, p), { recursive: true })
  } else {
    const tar = execFileSync('git', ['-C', ROOT, 'archive', ref, ...parts])
    execFileSync('tar', ['-x', '-C', tree], { input: tar })
  }
  if (noApi) {
    // Every package but @opentelemetry/*, each as a link: require.resolve walks up from the tree and finds no API.
    const modules = join(tree, 'node_modules')
    mkdirSync(modules)
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry === '@opentelemetry') continue
      symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry))
    }
  } else {
    symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'))
  }
  return { label, ref, noApi, tree, sha: ref === '.' ? sha + (dirty() ? '+changes' : '') : sha }
}

function dirty (): boolean {
  return execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'plugin'], { encoding: 'utf8' }).trim() !== ''
}
