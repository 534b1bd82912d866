import { actionButton, queueActions } from './actions.js'
import { fill, fmtArgs, fmtDuration, fmtInt, fmtRelative, fmtTime, h } from './dom.js'
import { queuePath } from './api.js'
import { renderPager } from './pager.js'

const TASKS_PER_PAGE = 20

/**
 * The open row: a queue's facts, every action with why it is or is not
 * available, and its pending tasks in order with their arguments. It is only
 * rebuilt when the data changed (ages aside), so reading or selecting an
 * argument is not interrupted by the live refresh.
 */
export class QueueDetail {
  #ctx
  #tr = null
  #signature = ''
  #ages = []

  constructor (ctx) {
    this.#ctx = ctx
  }

  requests (name, offset) {
    return { name, path: queuePath(name, '/detail'), query: { offset, limit: TASKS_PER_PAGE } }
  }

  remove () {
    this.#tr?.remove()
    this.#tr = null
    this.#signature = ''
  }

  render (detail, now, { pinned }) {
    if (this.#tr === null) {
      this.#tr = h('tr', { class: 'detail-row' }, h('td', { colspan: '10' }))
    }
    const signature = JSON.stringify(detail, (key, value) => (key === 'ageMs' ? undefined : value)) + String(pinned)
    if (signature !== this.#signature) {
      this.#signature = signature
      this.#ages = []
      fill(this.#tr.firstElementChild, this.#build(detail, pinned))
    }
    for (const { el, at, relative } of this.#ages) el.textContent = relative ? fmtRelative(at, now) : fmtDuration(Math.max(0, now - at))
    return this.#tr
  }

  /** A time shown relative to the server's now, kept current on every refresh without a rebuild. */
  #age (at, relative = false) {
    const el = h('span', { class: 'age' })
    this.#ages.push({ el, at, relative })
    return el
  }

  #close () {
    this.#ctx.state.open = null
    this.#ctx.changed()
  }

  #build (detail, pinned) {
    const closeButton = h('button', { type: 'button', class: 'btn sm ghost', onclick: () => this.#close(), 'aria-label': 'Close queue detail' }, 'Close')
    if (detail.gone) {
      return h('div', { class: 'detail-panel' },
        h('div', { class: 'detail-head' }, h('span', { class: 'detail-title mono' }, detail.name), closeButton),
        h('p', { class: 'empty-inline' }, 'This queue has no tasks any more: it ran everything it had (an empty queue that is not paused or halted disappears).')
      )
    }
    const q = detail.queue
    const head = q.head
    const readOnlyReason = this.#ctx.config.readOnlyReason
    const actions = queueActions(q).map((a) => actionButton(a, {
      readOnlyReason,
      onRun: (action) => this.#ctx.runQueueAction(q.name, action),
    }))
    const facts = [
      ['State', h('span', { class: `badge state-${q.state}` }, q.state)],
      ['Depth', fmtInt(q.depth)],
      ['Holder', q.holder ?? '—'],
      q.leaseExpiresAt !== null && ['Lease expires', this.#age(q.leaseExpiresAt, true)],
      q.retryAt !== null && ['Retries', this.#age(q.retryAt, true)],
      q.throttledUntil !== null && ['Waits for', q.limiter ? `limiter ${q.limiter}` : 'a back-off'],
      q.throttledUntil !== null && ['Tries again', this.#age(q.throttledUntil, true)],
      q.haltedAt !== null && ['Halted at', fmtTime(q.haltedAt)],
      q.missingHandler !== null && ['Needs handler', q.missingHandler],
      head !== null && ['Head task', `${head.name} · ${head.id}`],
      head !== null && ['Attempts', fmtInt(head.attempts)],
      head !== null && ['Waiting for', this.#age(head.enqueuedAt)],
      head?.requestId && ['Request', head.requestId],
    ].filter(Boolean)

    return h('div', { class: ['detail-panel', pinned && 'pinned'] },
      h('div', { class: 'detail-head' },
        h('span', { class: 'detail-title mono' }, q.name),
        pinned ? h('span', { class: 'muted small' }, 'open queue (not on this page of the list)') : null,
        h('div', { class: 'detail-actions' }, actions, closeButton)
      ),
      readOnlyReason !== null ? h('p', { class: 'muted small readonly-note' }, `Actions are disabled: ${readOnlyReason}.`) : null,
      h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', { class: 'fact' }, h('dt', null, k), h('dd', null, v)))),
      head?.lastError ? h('div', { class: 'last-error' }, h('div', { class: 'label' }, 'Last error'), h('pre', { class: 'error-text' }, head.lastError)) : null,
      this.#tasks(detail, q)
    )
  }

  #tasks (detail, q) {
    const page = detail.tasks
    const showArgs = this.#ctx.config.showArgs
    const pager = h('div', { class: 'pager' })
    renderPager(pager, page, (offset) => {
      this.#ctx.state.openOffset = offset
      this.#ctx.changed()
    }, 'tasks')
    return h('div', { class: 'tasks' },
      h('div', { class: 'section-title' }, `Tasks in order (${fmtInt(page.total)})`,
        showArgs ? null : h('span', { class: 'muted small' }, ' · arguments hidden (dashboard.showArgs is false)')),
      h('table', { class: 'tasks-table' },
        h('thead', null, h('tr', null,
          h('th', { class: 'num' }, '#'), h('th', null, 'Task'), h('th', null, 'Handler'), h('th', { class: 'num' }, 'Attempts'),
          h('th', { class: 'num' }, 'Waiting'), showArgs ? h('th', null, 'Arguments') : null)),
        h('tbody', null, page.items.map((t) => h('tr', { dataset: { task: t.id } },
          h('td', { class: 'num' }, t.position === 0 ? h('span', { class: 'badge head-badge' }, 'head') : fmtInt(t.position ?? 0)),
          h('td', { class: 'mono' }, t.id),
          h('td', null, t.name),
          h('td', { class: 'num' }, fmtInt(t.attempts)),
          h('td', { class: 'num', title: `Enqueued ${fmtTime(t.enqueuedAt)}` }, this.#age(t.enqueuedAt)),
          showArgs ? h('td', { class: 'args-cell' }, h('pre', { class: 'args' }, t.args === null ? '' : fmtArgs(t.args))) : null
        )))
      ),
      page.total > page.limit ? pager : null,
      page.total === 0 ? h('p', { class: 'empty-inline' }, q.paused ? 'No tasks. The queue stays paused until you resume it.' : 'No tasks.') : null
    )
  }
}
