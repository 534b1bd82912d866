import { actionButton } from './actions.js'
import { $, fill, fmtDuration, fmtInt, fmtRelative, h } from './dom.js'

/** "25 / 1s", "4 at once", or both. */
function limitsText (l) {
  const parts = []
  if (l.max !== null) parts.push(`${fmtInt(l.max)} per ${fmtDuration(l.perMs ?? 0) === '<1s' ? `${l.perMs} ms` : fmtDuration(l.perMs ?? 0)}`)
  if (l.concurrency !== null) parts.push(`${fmtInt(l.concurrency)} at once`)
  return parts.join(' · ')
}

function pausedText (l, now) {
  if (!l.paused) return h('span', { class: 'muted' }, 'no')
  if (l.pausedBy === 'operator') return h('span', { class: 'badge state-paused' }, 'by an operator')
  return h('span', { class: 'badge state-retrying', title: 'A handler threw FST_FIFO_RATE_LIMITED' }, `back-off, ends ${l.pausedUntil === null ? 'soon' : fmtRelative(l.pausedUntil, now)}`)
}

/** The limiters tab: each limiter's limits, use, waiting queues and pause, with pause/resume. */
export function renderLimiters (data, ctx) {
  $('#limiters-table').hidden = data.items.length === 0
  $('#limiters-empty').hidden = data.items.length !== 0
  const readOnlyReason = ctx.config.readOnlyReason
  fill($('#limiters-body'), data.items.map((l) => {
    const pattern = l.name.endsWith('*') && l.name === l.definition
    const action = l.paused && l.pausedBy === 'operator'
      ? { key: 'resume', label: 'Resume', enabled: true, why: '' }
      : { key: 'pause', label: 'Pause', enabled: !pattern, why: 'A pattern is paused name by name: use a name it covers once it is in use.' }
    return h('tr', { dataset: { limiter: l.name } },
      h('td', null, h('span', { class: 'mono' }, l.name),
        l.definition !== '' && l.definition !== l.name ? h('span', { class: 'chip static', title: 'Takes its limits from this definition' }, l.definition) : null),
      h('td', null, limitsText(l)),
      h('td', { class: 'num' }, l.max === null ? '—' : `${fmtInt(l.usedInWindow)} / ${fmtInt(l.max)}`),
      h('td', { class: 'num' }, l.concurrency === null ? fmtInt(l.running) : `${fmtInt(l.running)} / ${fmtInt(l.concurrency)}`),
      h('td', { class: ['num', l.queuesWaiting > 0 && 'warn-text'] }, fmtInt(l.queuesWaiting)),
      h('td', null, pausedText(l, data.now)),
      h('td', { class: 'num' }, fmtInt(l.backoffs)),
      h('td', { class: 'actions-cell' }, actionButton(action, { readOnlyReason, small: true, onRun: (a) => ctx.runLimiterAction(l, a.key) }))
    )
  }))
}
