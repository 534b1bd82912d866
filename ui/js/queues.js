import { actionButton, queueActions, rowActionKeys } from './actions.js'
import { $, fill, fmtDuration, fmtInt, fmtRelative, fmtTime, h } from './dom.js'
import { renderPager } from './pager.js'
import { QueueDetail } from './queue-detail.js'

const STATES = [
  ['', 'All', 'queues'],
  ['halted', 'Halted', 'halted'],
  ['retrying', 'Retrying', 'retrying'],
  ['missing-handler', 'No handler', 'missingHandler'],
  ['throttled', 'Throttled', 'throttled'],
  ['running', 'Running', 'running'],
  ['waiting', 'Waiting', 'waiting'],
  ['paused', 'Paused', 'paused'],
]
const COLUMNS = 10

function setText (el, text) {
  if (el.textContent !== text) el.textContent = text
}

/** The queues tab: state and name filters, the live table with keyed rows, the open row, the pager. */
export class QueuesView {
  #ctx
  #rows = new Map()
  #chips = new Map()
  #detail
  #searchTimer = null

  constructor (ctx) {
    this.#ctx = ctx
    this.#detail = new QueueDetail(ctx)
    const chipBox = $('#state-filter')
    for (const [value, label, key] of STATES) {
      const count = h('span', { class: 'chip-count' })
      const chip = h('button', {
        type: 'button',
        class: 'chip',
        dataset: { state: value },
        'aria-pressed': 'false',
        onclick: () => this.setFilter(value),
      }, label, count)
      this.#chips.set(value, { chip, count, key })
      chipBox.append(chip)
    }
    const search = $('#queue-search')
    search.value = ctx.state.search
    search.addEventListener('input', () => {
      clearTimeout(this.#searchTimer)
      this.#searchTimer = setTimeout(() => {
        ctx.state.search = search.value
        ctx.state.offset = 0
        ctx.changed()
      }, 250)
    })
    $('#queues-clear').addEventListener('click', () => this.clearFilters())
    this.#syncChips()
  }

  setFilter (value) {
    const s = this.#ctx.state
    s.filter = value
    s.offset = 0
    this.#syncChips()
    this.#ctx.changed()
  }

  clearFilters () {
    const s = this.#ctx.state
    s.filter = ''
    s.search = ''
    s.offset = 0
    $('#queue-search').value = ''
    this.#syncChips()
    this.#ctx.changed()
  }

  #syncChips () {
    for (const [value, { chip }] of this.#chips) {
      const on = value === this.#ctx.state.filter
      chip.classList.toggle('active', on)
      chip.setAttribute('aria-pressed', String(on))
    }
  }

  requests () {
    const s = this.#ctx.state
    return {
      page: { path: 'api/queues', query: { state: s.filter, search: s.search, offset: s.offset, limit: s.limit } },
      detail: s.open === null ? null : this.#detail.requests(s.open, s.openOffset),
    }
  }

  render (page, detail, overview) {
    const s = this.#ctx.state
    for (const [, { count, key }] of this.#chips) setText(count, fmtInt(overview[key]))

    if (page.items.length === 0 && page.total > 0 && s.offset > 0) {
      // The page emptied under us (queues drained): go to the last page that has rows.
      s.offset = Math.floor((page.total - 1) / s.limit) * s.limit
      this.#ctx.changed()
      return
    }

    const tbody = $('#queues-body')
    const seen = new Set()
    const order = []
    const openOnPage = s.open !== null && page.items.some((q) => q.name === s.open)
    if (s.open !== null && !openOnPage && detail !== null) {
      order.push(this.#detail.render(detail, page.now, { pinned: true }))
    }
    for (const q of page.items) {
      seen.add(q.name)
      let row = this.#rows.get(q.name)
      if (row === undefined) {
        row = this.#createRow(q.name)
        this.#rows.set(q.name, row)
      }
      this.#updateRow(row, q, page.now)
      order.push(row.tr)
      if (q.name === s.open && detail !== null) order.push(this.#detail.render(detail, page.now, { pinned: false }))
    }
    for (const [name, row] of this.#rows) {
      if (!seen.has(name)) {
        row.tr.remove()
        this.#rows.delete(name)
      }
    }
    if (s.open === null) this.#detail.remove()
    // Re-appending moves nodes without recreating them: focus, hover and text selection survive.
    order.forEach((el, i) => { if (tbody.children[i] !== el) tbody.insertBefore(el, tbody.children[i] ?? null) })
    while (tbody.children.length > order.length) tbody.lastElementChild.remove()

    this.#renderEmpty(page, overview)
    renderPager($('#queues-pager'), page, (offset, limit) => {
      s.offset = offset
      s.limit = limit
      this.#ctx.changed()
    }, 'queues')
  }

  #renderEmpty (page, overview) {
    const s = this.#ctx.state
    const filtered = s.filter !== '' || s.search !== ''
    $('#queues-table').hidden = page.items.length === 0 && s.open === null
    $('#queues-pager').hidden = page.total === 0
    $('#queues-empty-first').hidden = !(page.total === 0 && !filtered && overview.queues === 0)
    $('#queues-empty-filter').hidden = !(page.total === 0 && (filtered || overview.queues > 0))
    if (page.total === 0 && filtered) {
      const what = [s.filter !== '' ? `state "${s.filter}"` : null, s.search !== '' ? `a name containing "${s.search}"` : null].filter(Boolean).join(' and ')
      setText($('#queues-empty-filter-text'), `No queue has ${what} right now.`)
    }
  }

  #createRow (name) {
    const toggle = h('button', { type: 'button', class: 'row-toggle', 'aria-expanded': 'false', 'aria-label': 'Show tasks' })
    const cells = {
      badge: h('span', { class: 'badge' }),
      name: h('span', { class: 'qname mono' }, name),
      depth: h('td', { class: 'num' }),
      headName: h('span', { class: 'head-name' }),
      headId: h('span', { class: 'head-id mono' }),
      attempts: h('td', { class: 'num' }),
      age: h('td', { class: 'num age' }),
      note: h('span', { class: 'note' }),
      holder: h('span', { class: 'mono holder' }),
      actions: h('div', { class: 'row-actions' }),
    }
    const tr = h('tr', { class: 'queue-row', dataset: { queue: name } },
      h('td', { class: 'toggle-cell' }, toggle),
      h('td', null, cells.badge),
      h('td', { class: 'name-cell', title: name }, cells.name),
      cells.depth,
      h('td', { class: 'head-cell' }, cells.headName, cells.headId),
      cells.attempts,
      cells.age,
      h('td', { class: 'note-cell' }, cells.note),
      h('td', { class: 'holder-cell' }, cells.holder),
      h('td', { class: 'actions-cell' }, cells.actions)
    )
    tr.addEventListener('click', (event) => {
      if (event.target.closest('.row-actions')) return
      if (String(globalThis.getSelection?.() ?? '') !== '') return // selecting text, not opening
      this.#toggleOpen(name)
    })
    toggle.addEventListener('click', (event) => { event.stopPropagation(); this.#toggleOpen(name) })
    return { tr, toggle, cells, actionsKey: '' }
  }

  #toggleOpen (name) {
    const s = this.#ctx.state
    s.open = s.open === name ? null : name
    s.openOffset = 0
    this.#ctx.changed()
  }

  #updateRow (row, q, now) {
    const { cells } = row
    const open = this.#ctx.state.open === q.name
    row.tr.classList.toggle('open', open)
    row.tr.dataset.state = q.state
    row.toggle.setAttribute('aria-expanded', String(open))
    cells.badge.className = `badge state-${q.state}`
    setText(cells.badge, q.paused && q.state === 'running' ? 'pausing' : q.state === 'missing-handler' ? 'no handler' : q.state)
    setText(cells.depth, fmtInt(q.depth))
    const head = q.head
    setText(cells.headName, head?.name ?? '—')
    setText(cells.headId, head === null ? '' : head.id)
    cells.headId.title = head === null ? '' : `Task ${head.id}${head.requestId ? ` · request ${head.requestId}` : ''}`
    setText(cells.attempts, head === null ? '' : fmtInt(head.attempts))
    setText(cells.age, head === null ? '' : fmtDuration(head.ageMs))
    cells.age.title = head === null ? '' : `Enqueued ${fmtTime(head.enqueuedAt)}`
    const note = noteFor(q, now)
    setText(cells.note, note.text)
    cells.note.className = `note ${note.kind}`
    cells.note.title = note.text
    setText(cells.holder, q.holder ?? '—')
    cells.holder.title = q.leaseExpiresAt === null ? '' : `Lease expires ${fmtTime(q.leaseExpiresAt)}`

    const keys = rowActionKeys(q)
    const actions = queueActions(q).filter((a) => keys.includes(a.key))
    const actionsKey = JSON.stringify(actions.map((a) => [a.key, a.enabled, a.label])) + (q.head?.id ?? '')
    if (actionsKey !== row.actionsKey) {
      row.actionsKey = actionsKey
      fill(cells.actions, actions.map((a) => actionButton(a, {
        small: true,
        readOnlyReason: this.#ctx.config.readOnlyReason,
        onRun: (action) => this.#ctx.runQueueAction(q.name, action),
      })))
    }
  }
}

/** The one line that says why a queue is not moving (or that it is). */
function noteFor (q, now) {
  const err = q.head?.lastError ?? null
  switch (q.state) {
    case 'halted': return { kind: 'error', text: err ?? 'Halted: attempts spent' }
    case 'retrying': return { kind: 'warn', text: `retry ${q.retryAt === null ? 'soon' : fmtRelative(q.retryAt, now)}${err ? ` · ${err}` : ''}` }
    case 'throttled': return { kind: 'muted', text: `${q.limiter ? `waits for limiter "${q.limiter}"` : 'backing off'}${q.throttledUntil === null ? '' : `, tries ${fmtRelative(q.throttledUntil, now)}`}` }
    case 'missing-handler': return { kind: 'warn', text: `no live instance has a handler named "${q.missingHandler ?? q.head?.name ?? '?'}"` }
    case 'paused': return { kind: 'muted', text: 'paused by an operator' }
    case 'running': return { kind: 'muted', text: q.paused ? 'pausing after the running task' : (err ? `attempt ${q.head?.attempts ?? ''} after: ${err}` : '') }
    default: return { kind: 'muted', text: err ? `last error: ${err}` : '' }
  }
}

export const QUEUE_COLUMNS = COLUMNS
