import { fill, fmtInt, h } from './dom.js'

const SIZES = [25, 50, 100, 200, 500]

/**
 * "51–100 of 10,000", previous/next, a page number to jump to and the page
 * size. Only offsets travel to the server, so a page costs the same at page 1
 * and page 200.
 */
export function renderPager (box, page, go, label) {
  const { offset, limit, total } = page
  const pages = Math.max(1, Math.ceil(total / limit))
  const current = Math.floor(offset / limit) + 1
  const first = total === 0 ? 0 : offset + 1
  const last = Math.min(total, offset + page.items.length)
  const key = `${offset}/${limit}/${total}/${page.items.length}`
  if (box.dataset.key === key) return
  box.dataset.key = key

  const jump = h('input', {
    type: 'number', min: '1', max: String(pages), value: String(current), class: 'page-input', 'aria-label': `${label} page number`,
  })
  jump.addEventListener('change', () => {
    const n = Math.min(pages, Math.max(1, Math.round(Number(jump.value) || 1)))
    go((n - 1) * limit, limit)
  })
  const size = h('select', { class: 'page-size', 'aria-label': `${label} per page` },
    SIZES.map((n) => h('option', { value: String(n), selected: n === limit }, `${n} / page`)))
  size.addEventListener('change', () => go(0, Number(size.value)))

  fill(box,
    h('span', { class: 'pager-range' }, `${fmtInt(first)}–${fmtInt(last)} of ${fmtInt(total)}`),
    h('span', { class: 'pager-controls' },
      h('button', { type: 'button', class: 'btn sm', disabled: current <= 1, onclick: () => go(Math.max(0, offset - limit), limit), 'aria-label': 'Previous page' }, '‹ Prev'),
      h('span', { class: 'pager-page' }, 'Page ', jump, ` of ${fmtInt(pages)}`),
      h('button', { type: 'button', class: 'btn sm', disabled: current >= pages, onclick: () => go(offset + limit, limit), 'aria-label': 'Next page' }, 'Next ›'),
      size
    )
  )
}
