import { $, fill, fmtDuration, fmtInt, fmtTime, h } from './dom.js'

/** The instances tab: every live worker process and what it holds. */
export function renderInstances (data) {
  $('#instances-table').hidden = data.items.length === 0
  $('#instances-empty').hidden = data.items.length !== 0
  fill($('#instances-body'), data.items.map((i) => h('tr', { dataset: { instance: i.id } },
    h('td', null, h('span', { class: 'mono' }, i.id), i.self ? h('span', { class: 'badge self-badge', title: 'The instance serving this dashboard' }, 'this one') : null),
    h('td', null, i.host),
    h('td', { class: 'num' }, String(i.pid)),
    h('td', null, i.version),
    h('td', { title: fmtTime(i.startedAt) }, `${fmtDuration(Math.max(0, data.now - i.startedAt))} ago`),
    h('td', { class: ['num', i.lastHeartbeatAgeMs > 10_000 && 'stale'], title: fmtTime(i.lastHeartbeatAt) }, `${fmtDuration(i.lastHeartbeatAgeMs)} ago`),
    h('td', { class: 'num' }, `${fmtInt(i.queuesHeld)} / ${fmtInt(i.concurrency)}`),
    h('td', { class: 'handlers' }, i.handlers.length === 0 ? h('span', { class: 'muted' }, 'none (enqueue only)') : i.handlers.map((n) => h('span', { class: 'chip static' }, n)))
  )))
}
