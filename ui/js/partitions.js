import { $, fill, fmtDuration, fmtInt, h } from './dom.js'

/**
 * The partitions tab: each partition of the namespace (one, unless the
 * `partitions` option splits it over a Redis Cluster), the Redis node that
 * serves it and what it holds, so an uneven spread or a hot node shows.
 */
export function renderPartitions (data) {
  const total = data.items.reduce((n, p) => n + p.depth, 0)
  fill($('#partitions-body'), data.items.map((p) => h('tr', { dataset: { partition: String(p.partition) } },
    h('td', { class: 'num' }, String(p.partition)),
    h('td', null, h('span', { class: 'mono' }, p.tag === '' ? '–' : `{${p.tag}}`)),
    h('td', { class: 'num' }, String(p.slot)),
    h('td', null, h('span', { class: 'mono' }, p.node)),
    h('td', { class: 'num' }, fmtInt(p.queues)),
    h('td', { class: 'num', title: total > 0 ? `${Math.round(100 * p.depth / total)} % of pending tasks` : '' }, fmtInt(p.depth)),
    h('td', { class: 'num' }, fmtInt(p.running)),
    h('td', { class: 'num' }, p.oldestHeadAgeMs > 0 ? fmtDuration(p.oldestHeadAgeMs) : h('span', { class: 'muted' }, '–'))
  )))
  const nodes = new Set(data.items.map((p) => p.node))
  fill($('#partitions-summary'), `${fmtInt(data.items.length)} partition${data.items.length === 1 ? '' : 's'} on ${fmtInt(nodes.size)} Redis node${nodes.size === 1 ? '' : 's'}`)
}
