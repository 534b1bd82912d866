import { $, fill, fmtDuration, fmtInt, h, svg } from './dom.js'

/** The totals strip and the throughput sparkline. */
const CARDS = [
  { key: 'queues', label: 'Queues', filter: '' },
  { key: 'running', label: 'Running', filter: 'running' },
  { key: 'waiting', label: 'Waiting', filter: 'waiting' },
  { key: 'retrying', label: 'Retrying', filter: 'retrying', warn: true },
  { key: 'halted', label: 'Halted', filter: 'halted', alarm: true },
  { key: 'paused', label: 'Paused', filter: 'paused' },
  { key: 'missingHandler', label: 'No handler', filter: 'missing-handler', warn: true },
  { key: 'throttled', label: 'Throttled', filter: 'throttled', title: 'Heads waiting for a limiter token or a rate-limit back-off' },
  { key: 'pendingTasks', label: 'Pending', title: 'Tasks waiting in all queues, heads included' },
  { key: 'deadLetters', label: 'Dead letters', tab: 'dead', warn: true },
  { key: 'liveInstances', label: 'Instances', tab: 'instances' },
]

export function setupHeader ({ onFilter, onTab }) {
  const strip = $('#stats')
  const values = new Map()
  for (const card of CARDS) {
    const value = h('span', { class: 'stat-value' }, '–')
    const clickable = card.filter !== undefined || card.tab !== undefined
    const el = h(clickable ? 'button' : 'div', {
      class: ['stat', clickable && 'clickable'],
      type: clickable ? 'button' : undefined,
      title: card.title ?? (card.filter !== undefined ? `Show ${card.filter === '' ? 'all' : card.label.toLowerCase()} queues` : card.tab !== undefined ? `Open ${card.label.toLowerCase()}` : undefined),
      dataset: { stat: card.key },
      onclick: clickable ? () => (card.tab !== undefined ? onTab(card.tab) : onFilter(card.filter)) : undefined,
    }, h('span', { class: 'stat-label' }, card.label), value)
    values.set(card.key, { el, value, card })
    strip.append(el)
  }
  return {
    render (o) {
      for (const { el, value, card } of values.values()) {
        const n = o[card.key]
        fill(value, fmtInt(n))
        el.classList.toggle('alarm', Boolean(card.alarm) && n > 0)
        el.classList.toggle('warn', Boolean(card.warn) && n > 0)
      }
      renderThroughput(o)
    },
  }
}

function renderThroughput (o) {
  fill($('#tp-completed'), fmtInt(o.completedLastMinute))
  fill($('#tp-failed'), fmtInt(o.failedLastMinute))
  fill($('#tp-oldest'), o.oldestHeadAgeMs > 0 ? fmtDuration(o.oldestHeadAgeMs) : '–')
  const series = o.series
  const W = 300
  const H = 44
  const max = Math.max(1, ...series.map((b) => Math.max(b.completed, b.failed)))
  const x = (i) => (series.length < 2 ? 0 : (i * W) / (series.length - 1))
  const y = (v) => H - 2 - (v / max) * (H - 6)
  const line = (key) => series.map((b, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(b[key]).toFixed(1)}`).join(' ')
  const done = line('completed')
  const total = series.reduce((s, b) => s + b.completed, 0)
  const failed = series.reduce((s, b) => s + b.failed, 0)
  const perBucket = o.bucketMs / 1000
  fill($('#sparkline'),
    svg('title', null, `Last 10 minutes in ${perBucket}s buckets: ${fmtInt(total)} completed, ${fmtInt(failed)} failed (peak ${fmtInt(max)} per bucket)`),
    svg('line', { class: 'spark-base', x1: 0, y1: H - 2, x2: W, y2: H - 2 }),
    svg('path', { class: 'spark-area', d: `${done} L${W},${H - 2} L0,${H - 2} Z` }),
    // Failures under the completed line, so a quiet baseline reads as green.
    failed > 0 ? svg('path', { class: 'spark-fail', d: line('failed') }) : null,
    svg('path', { class: 'spark-line', d: done })
  )
}
