/**
 * A strict parser for the Prometheus text exposition format 0.0.4, for tests:
 * it throws on anything a Prometheus server would reject or that breaks the
 * format's rules (a sample before its TYPE, a family split in two, a duplicate
 * series, a bad escape, a histogram whose buckets are not cumulative or whose
 * +Inf bucket differs from _count).
 */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: MetricType
  help: string | null
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

// Prometheus reads values with Go's strconv.ParseFloat, which takes NaN and Inf in any case
// (prom-client writes a NaN gauge as "Nan").
function parseValue (text: string, where: string): number {
  if (/^nan$/i.test(text)) return NaN
  if (/^\+?inf$/i.test(text)) return Infinity
  if (/^-inf$/i.test(text)) return -Infinity
  if (!FLOAT.test(text)) throw new Error(`${where}: bad value ${JSON.stringify(text)}`)
  return Number(text)
}

function unescapeHelp (text: string, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\'
    if (c === 'n') return '\n'
    throw new Error(`${where}: bad escape \\${c} in HELP`)
  })
}

/** Reads `{a="x",b="y"}` starting at line[i] === '{'. Returns the labels and the index after '}'. */
function readLabels (line: string, start: number, where: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {}
  let i = start + 1
  while (true) {
    if (line[i] === '}') return [labels, i + 1]
    let name = ''
    while (i < line.length && line[i] !== '=') name += line[i++]
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`)
    if (name in labels) throw new Error(`${where}: label ${name} twice`)
    if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`${where}: expected ="… after label ${name}`)
    i += 2
    let value = ''
    while (true) {
      const c = line[i]
      if (c === undefined) throw new Error(`${where}: unterminated label value`)
      if (c === '"') { i++; break }
      if (c === '\\') {
        const next = line[i + 1]
        if (next === '\\') value += '\\'
        else if (next === '"') value += '"'
        else if (next === 'n') value += '\n'
        else throw new Error(`${where}: bad escape \\${next ?? ''} in label value`)
        i += 2
      } else {
        value += c
        i++
      }
    }
    labels[name] = value
    if (line[i] === ',') i++
    else if (line[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`)
  }
}

function familyOf (sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample)
  if (direct !== undefined) return direct
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue
    const f = families.get(sample.slice(0, -suffix.length))
    if (f !== undefined && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f
  }
  return undefined
}

export function parsePrometheusText (text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a newline')
  const families = new Map<string, Family>()
  const finished = new Set<string>()
  const series = new Set<string>()
  let current: Family | null = null
  const lines = text.split('\n').slice(0, -1)
  lines.forEach((line, index) => {
    const where = `line ${index + 1}`
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line)
      if (m === null) return // a plain comment
      const [, kind, name, rest = ''] = m
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`)
      if (finished.has(name) || (current !== null && current.name !== name && families.has(name))) throw new Error(`${where}: family ${name} is split`)
      let family = families.get(name)
      if (family === undefined) {
        family = { name, type: 'untyped', help: null, samples: [] }
        families.set(name, family)
      }
      if (current !== null && current !== family) finished.add(current.name)
      current = family
      if (kind === 'HELP') {
        if (family.help !== null) throw new Error(`${where}: second HELP for ${name}`)
        family.help = unescapeHelp(rest, where)
      } else {
        if (!TYPES.has(rest.trim())) throw new Error(`${where}: bad type ${rest}`)
        if (family.samples.length > 0) throw new Error(`${where}: TYPE for ${name} after its samples`)
        if ((family as Family & { typed?: boolean }).typed === true) throw new Error(`${where}: second TYPE for ${name}`)
        ;(family as Family & { typed?: boolean }).typed = true
        family.type = rest.trim() as MetricType
      }
      return
    }
    let i = 0
    while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++
    const name = line.slice(0, i)
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`)
    let labels: Record<string, string> = {}
    if (line[i] === '{') [labels, i] = readLabels(line, i, where)
    if (line[i] !== ' ') throw new Error(`${where}: expected a space before the value`)
    const parts = line.slice(i + 1).trim().split(/ +/)
    if (parts.length > 2) throw new Error(`${where}: trailing text`)
    const value = parseValue(parts[0], where)
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp ${parts[1]}`)

    let family = familyOf(name, families)
    if (family === undefined) {
      family = { name, type: 'untyped', help: null, samples: [] }
      families.set(name, family)
    }
    if (finished.has(family.name)) throw new Error(`${where}: family ${family.name} is split`)
    if (current !== null && current !== family) finished.add(current.name)
    current = family
    const key = name + JSON.stringify(Object.entries(labels).sort())
    if (series.has(key)) throw new Error(`${where}: duplicate series ${key}`)
    series.add(key)
    if (family.type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) throw new Error(`${where}: bucket without le`)
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`${where}: counter ${name} is ${value}`)
    family.samples.push({ name, labels, value })
  })
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family)
    delete (family as Family & { typed?: boolean }).typed
  }
  return families
}

/** Each series of a histogram (its labels besides le) must be complete and cumulative on its own. */
function checkHistogram (family: Family): void {
  const seriesKey = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort())
  const keys = new Set(family.samples.map((s) => seriesKey(s.labels)))
  for (const key of keys) {
    const own = family.samples.filter((s) => seriesKey(s.labels) === key)
    const where = `${family.name}${key === '[]' ? '' : ' ' + key}`
    const buckets = own.filter((s) => s.name === `${family.name}_bucket`)
    const les = buckets.map((b) => parseValue(b.labels.le, `${where} le`))
    for (let i = 1; i < buckets.length; i++) {
      if (!(les[i] > les[i - 1])) throw new Error(`${where}: buckets not in increasing le order`)
      if (buckets[i].value < buckets[i - 1].value) throw new Error(`${where}: buckets not cumulative`)
    }
    if (les[les.length - 1] !== Infinity) throw new Error(`${where}: no +Inf bucket`)
    const count = own.find((s) => s.name === `${family.name}_count`)
    const sum = own.find((s) => s.name === `${family.name}_sum`)
    if (count === undefined || sum === undefined) throw new Error(`${where}: _count or _sum missing`)
    if (count.value !== buckets[buckets.length - 1].value) throw new Error(`${where}: +Inf bucket ${buckets[buckets.length - 1].value} != _count ${count.value}`)
  }
}

/** The one sample of a family whose labels include `labels`. */
export function sampleValue (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value
    }
  }
  throw new Error(`no sample ${name} ${JSON.stringify(labels)}`)
}
