import { $, fill, fmtArgs, fmtDuration, fmtInt, fmtTime, h } from './dom.js'
import { renderPager } from './pager.js'

/** The dead letters tab: newest first, with requeue and delete. */
export class DeadView {
  #ctx
  #signature = ''
  #ages = []

  constructor (ctx) {
    this.#ctx = ctx
  }

  requests () {
    const s = this.#ctx.state
    return { path: 'api/dead', query: { offset: s.deadOffset, limit: s.deadLimit } }
  }

  render (page) {
    const s = this.#ctx.state
    if (page.items.length === 0 && page.total > 0 && s.deadOffset > 0) {
      s.deadOffset = Math.floor((page.total - 1) / s.deadLimit) * s.deadLimit
      this.#ctx.changed()
      return
    }
    const signature = JSON.stringify(page.items) + s.deadOpen
    if (signature !== this.#signature) {
      this.#signature = signature
      this.#ages = []
      fill($('#dead-body'), page.items.map((d) => this.#rows(d)))
    }
    for (const { el, at } of this.#ages) el.textContent = `${fmtDuration(Math.max(0, page.now - at))} ago`
    $('#dead-table').hidden = page.items.length === 0
    $('#dead-empty').hidden = page.total !== 0
    $('#dead-pager').hidden = page.total === 0
    renderPager($('#dead-pager'), page, (offset, limit) => {
      s.deadOffset = offset
      s.deadLimit = limit
      this.#ctx.changed()
    }, 'dead letters')
  }

  #rows (d) {
    const s = this.#ctx.state
    const open = s.deadOpen === d.id
    const readOnlyReason = this.#ctx.config.readOnlyReason
    const died = h('span')
    this.#ages.push({ el: died, at: d.deadAt })
    const button = (label, key, cls) => h('span', { class: 'btn-wrap', title: readOnlyReason ?? undefined },
      h('button', {
        type: 'button',
        class: ['btn', 'sm', cls],
        disabled: readOnlyReason !== null,
        dataset: { action: key },
        onclick: (event) => { event.stopPropagation(); this.#ctx.runDeadAction(d, key) },
      }, label))
    const toggle = () => {
      s.deadOpen = open ? null : d.id
      this.#ctx.changed()
    }
    const row = h('tr', { class: ['dead-row', open && 'open'], dataset: { task: d.id }, onclick: toggle },
      h('td', { class: 'toggle-cell' }, h('button', { type: 'button', class: 'row-toggle', 'aria-expanded': String(open), 'aria-label': 'Show details' })),
      h('td', { class: 'mono' }, d.id),
      h('td', { class: 'name-cell', title: d.queue }, h('span', { class: 'qname mono' }, d.queue)),
      h('td', null, d.name),
      h('td', { class: 'num' }, fmtInt(d.attempts)),
      h('td', { class: 'note-cell' }, h('span', { class: 'note error', title: d.reason }, d.reason)),
      h('td', { class: 'num', title: fmtTime(d.deadAt) }, died),
      h('td', { class: 'actions-cell' }, h('div', { class: 'row-actions' }, button('Requeue', 'requeue', null), button('Delete', 'delete', 'danger-outline')))
    )
    if (!open) return row
    const showArgs = this.#ctx.config.showArgs
    return [row, h('tr', { class: 'detail-row' }, h('td', { colspan: '8' },
      h('div', { class: 'detail-panel' },
        h('dl', { class: 'facts' },
          [['Queue', d.queue], ['Handler', d.name], ['Enqueued', fmtTime(d.enqueuedAt)], ['Died', fmtTime(d.deadAt)], d.requestId ? ['Request', d.requestId] : null]
            .filter(Boolean).map(([k, v]) => h('div', { class: 'fact' }, h('dt', null, k), h('dd', null, v)))),
        h('div', { class: 'last-error' }, h('div', { class: 'label' }, 'Reason'), h('pre', { class: 'error-text' }, d.reason)),
        h('div', { class: 'last-error' }, h('div', { class: 'label' }, 'Arguments'),
          showArgs ? h('pre', { class: 'args dead-args' }, fmtArgs(d.args ?? '', true)) : h('p', { class: 'muted small' }, 'Hidden (dashboard.showArgs is false).'))
      )))]
  }
}
