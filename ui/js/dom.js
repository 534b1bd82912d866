/* global document */
/**
 * Element builders. Every string child becomes a text node and every
 * attribute is set with setAttribute: data from the API never reaches an HTML
 * parser, so a queue named `<img src=x onerror=alert(1)>` shows as those characters.
 */
const SVG_NS = 'http://www.w3.org/2000/svg'

function build (el, attrs, children) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value)
    else if (key === 'dataset') Object.assign(el.dataset, value)
    else if (key === 'disabled' || key === 'hidden' || key === 'checked' || key === 'selected') el[key] = Boolean(value)
    else if (key === 'value') el.value = value
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  append(el, children)
  return el
}

function append (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)))
  }
}

/** h('td', { class: 'x' }, 'text', h('b', null, 'bold')) */
export function h (tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children)
}

export function svg (tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children)
}

/** Replaces an element's children. */
export function fill (el, ...children) {
  el.replaceChildren()
  append(el, children)
  return el
}

export function $ (selector, root = document) {
  return root.querySelector(selector)
}

// ---- formatting ----

const number = new Intl.NumberFormat()

export function fmtInt (n) {
  return number.format(n)
}

/** 950 → "<1s", 12_300 → "12s", 200_000 → "3m 20s", 8_000_000 → "2h 13m". */
export function fmtDuration (ms) {
  if (ms < 1000) return '<1s'
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const hr = Math.floor(m / 60)
  if (hr < 48) return `${hr}h ${m % 60}m`
  return `${Math.floor(hr / 24)}d ${hr % 24}h`
}

export function fmtTime (ms) {
  if (ms === null || ms === undefined) return ''
  return new Date(ms).toLocaleString()
}

/** "in 3s" / "3s ago" relative to the server's now. */
export function fmtRelative (at, now) {
  const d = at - now
  return d >= 0 ? `in ${fmtDuration(d)}` : `${fmtDuration(-d)} ago`
}

/** The arguments JSON text, compact or indented; shown raw when it does not parse. */
export function fmtArgs (text, pretty = false) {
  try {
    return JSON.stringify(JSON.parse(text), null, pretty ? 2 : undefined)
  } catch {
    return text
  }
}

export function plural (n, one, many = one + 's') {
  return `${fmtInt(n)} ${n === 1 ? one : many}`
}
