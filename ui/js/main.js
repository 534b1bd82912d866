/* global document, location, history, setTimeout, clearTimeout */
import { api, ApiError, withQuery } from './api.js'
import { DeadView } from './dead.js'
import { confirmAction, setupDialogs, toast } from './dialogs.js'
import { $, fill, fmtDuration, fmtInt } from './dom.js'
import { setupHeader } from './header.js'
import { renderInstances } from './instances.js'
import { renderPartitions } from './partitions.js'
import { renderLimiters } from './limiters.js'
import { QueuesView } from './queues.js'

/**
 * Boot and the live loop. What the operator chose (tab, filters, page, open
 * row) lives in `state` and in the URL hash, so the 2 s refresh and a reload
 * both keep it.
 */
const TABS = ['queues', 'dead', 'instances', 'partitions', 'limiters']

function loadState () {
  const p = new URLSearchParams(location.hash.slice(1))
  const int = (key, dflt, max = 1e9) => {
    const n = Number(p.get(key))
    return Number.isInteger(n) && n >= 0 && n <= max && p.has(key) ? n : dflt
  }
  return {
    tab: TABS.includes(p.get('tab')) ? p.get('tab') : 'queues',
    filter: p.get('state') ?? '',
    search: p.get('q') ?? '',
    offset: int('offset', 0),
    limit: int('limit', 50, 500) || 50,
    open: p.get('open'),
    openOffset: int('openOffset', 0),
    deadOffset: int('deadOffset', 0),
    deadLimit: int('deadLimit', 50, 500) || 50,
    deadOpen: p.get('deadOpen'),
  }
}

function saveState (s) {
  const p = new URLSearchParams()
  if (s.tab !== 'queues') p.set('tab', s.tab)
  if (s.filter) p.set('state', s.filter)
  if (s.search) p.set('q', s.search)
  if (s.offset) p.set('offset', String(s.offset))
  if (s.limit !== 50) p.set('limit', String(s.limit))
  if (s.open !== null) p.set('open', s.open)
  if (s.openOffset) p.set('openOffset', String(s.openOffset))
  if (s.deadOffset) p.set('deadOffset', String(s.deadOffset))
  if (s.deadLimit !== 50) p.set('deadLimit', String(s.deadLimit))
  if (s.deadOpen !== null) p.set('deadOpen', s.deadOpen)
  const hash = p.toString()
  history.replaceState(null, '', hash === '' ? location.pathname + location.search : `#${hash}`)
}

const state = loadState()
let config = null
let timer = null
let generation = 0
let live = true
let lastOk = 0

const ctx = {
  state,
  get config () { return config },
  changed () {
    saveState(state)
    refreshNow()
  },
  runQueueAction,
  runDeadAction,
  runLimiterAction,
}

async function runLimiterAction (limiter, key) {
  const pausing = key === 'pause'
  if (pausing && !(await confirmAction({ title: 'Pause this limiter?', message: 'No head that needs it starts, on any instance, until you resume it. Running heads finish; their queues wait at their heads without using attempts.', subject: limiter.name, confirmLabel: 'Pause' }))) return
  try {
    await api(`api/limiters/${encodeURIComponent(limiter.name)}/${key}`, { method: 'POST', body: {} })
    toast(`${pausing ? 'Paused' : 'Resumed'} limiter ${limiter.name}`)
  } catch (err) {
    toast(`${pausing ? 'Pause' : 'Resume'} failed: ${err.message}`, 'error')
  }
  refreshNow()
}

async function runQueueAction (queue, action) {
  if (action.confirm && !(await confirmAction(action.confirm))) return
  try {
    await api(`api/queues/${encodeURIComponent(queue)}/${action.key}`, { method: 'POST', body: {} })
    toast(`${action.label}: ${queue}`)
  } catch (err) {
    toast(`${action.label} failed: ${err.message}`, 'error')
  }
  refreshNow()
}

async function runDeadAction (dead, key) {
  const isDelete = key === 'delete'
  const ok = await confirmAction(isDelete
    ? { title: 'Delete this dead letter?', message: `Task ${dead.id} (${dead.name}) and its arguments are removed for good.`, subject: dead.queue, confirmLabel: 'Delete', danger: true }
    : { title: 'Requeue this task?', message: `Task ${dead.id} (${dead.name}) goes to the end of its queue with fresh attempts, and runs after the tasks already there.`, subject: dead.queue, confirmLabel: 'Requeue' })
  if (!ok) return
  try {
    if (isDelete) await api(`api/dead/${encodeURIComponent(dead.id)}`, { method: 'DELETE', body: {} })
    else await api(`api/dead/${encodeURIComponent(dead.id)}/requeue`, { method: 'POST', body: {} })
    toast(isDelete ? `Deleted ${dead.id}` : `Requeued ${dead.id} to ${dead.queue}`)
  } catch (err) {
    toast(`${isDelete ? 'Delete' : 'Requeue'} failed: ${err.message}`, 'error')
  }
  refreshNow()
}

const header = setupHeader({
  onFilter: (value) => { showTab('queues'); queues.setFilter(value) },
  onTab: (tab) => showTab(tab),
})
const queues = new QueuesView(ctx)
const dead = new DeadView(ctx)

function showTab (tab) {
  if (state.tab === tab) return
  state.tab = tab
  syncTabs()
  ctx.changed()
}

function syncTabs () {
  for (const t of TABS) {
    const button = $(`#tab-${t}`)
    button.classList.toggle('active', t === state.tab)
    button.setAttribute('aria-selected', String(t === state.tab))
    $(`#panel-${t}`).hidden = t !== state.tab
  }
}

async function loadDetail (req) {
  const detail = await api(withQuery(req.path, req.query))
  return detail.queue === null ? { name: req.name, gone: true } : { name: req.name, queue: detail.queue, tasks: detail.tasks }
}

async function refresh () {
  const mine = ++generation
  try {
    const jobs = { overview: api('api/overview') }
    if (state.tab === 'queues') {
      const req = queues.requests()
      jobs.page = api(withQuery(req.page.path, req.page.query))
      jobs.detail = req.detail === null ? null : loadDetail(req.detail)
    } else if (state.tab === 'dead') {
      const req = dead.requests()
      jobs.page = api(withQuery(req.path, req.query))
    } else if (state.tab === 'limiters') {
      jobs.page = api('api/limiters')
    } else if (state.tab === 'instances') {
      jobs.page = api('api/instances')
    } else {
      jobs.page = api('api/partitions')
    }
    const [overview, page, detail] = await Promise.all([jobs.overview, jobs.page, jobs.detail ?? null])
    if (mine !== generation) return // a newer refresh (the operator changed something) wins
    header.render(overview)
    fill($('#count-queues'), fmtInt(overview.queues))
    fill($('#count-dead'), fmtInt(overview.deadLetters))
    fill($('#count-instances'), fmtInt(overview.liveInstances))
    if (state.tab === 'queues') queues.render(page, detail, overview)
    else if (state.tab === 'dead') dead.render(page)
    else if (state.tab === 'instances') renderInstances(page)
    else if (state.tab === 'limiters') {
      renderLimiters(page, ctx)
      fill($('#count-limiters'), fmtInt(page.items.length))
    } else {
      renderPartitions(page)
      fill($('#count-partitions'), fmtInt(page.items.length))
    }
    lastOk = Date.now()
    showProblem(null)
  } catch (err) {
    if (mine !== generation) return
    showProblem(err)
  }
  updateLiveLabel()
}

function showProblem (err) {
  const banner = $('#banner-error')
  if (err === null) {
    banner.hidden = true
    return
  }
  const status = err instanceof ApiError ? err.status : 0
  const text = status === 401 || status === 403
    ? `Not authorized to read the queues (${status}): ${err.message}`
    : status === 0 ? err.message : `The server answered ${status}: ${err.message}`
  fill(banner, text)
  banner.hidden = false
}

function updateLiveLabel () {
  const label = $('#live-label')
  $('#live').classList.toggle('off', !live)
  $('#live').classList.toggle('stale', live && Date.now() - lastOk > 3 * config.refreshMs)
  fill(label, !live ? 'Updates paused' : lastOk === 0 ? 'Connecting…' : `Live · every ${fmtDuration(config.refreshMs)}`)
  fill($('#live-toggle'), live ? 'Pause' : 'Resume')
}

/** Next refresh `refreshMs` after the last one started (not ended), so data is never older than that plus one round trip. */
function schedule (startedAt) {
  clearTimeout(timer)
  if (!live) return
  const period = document.hidden ? config.refreshMs * 5 : config.refreshMs
  timer = setTimeout(loop, Math.max(250, period - (Date.now() - startedAt)))
}

async function loop () {
  const startedAt = Date.now()
  await refresh()
  schedule(startedAt)
}

function refreshNow () {
  clearTimeout(timer)
  loop()
}

async function boot () {
  setupDialogs()
  for (const t of TABS) $(`#tab-${t}`).addEventListener('click', () => showTab(t))
  syncTabs()
  try {
    config = await api('api/config')
  } catch (err) {
    config = { refreshMs: 2000, readOnlyReason: 'unknown', readOnly: true, showArgs: false }
    showProblem(err)
  }
  fill($('#meta-store'), config.storeKind ?? '?')
  $('#banner-memory').hidden = config.storeKind !== 'memory'
  fill($('#meta-instance'), config.instanceId ?? '?')
  fill($('#meta-version'), config.version ? `v${config.version}` : '')
  if (config.readOnly) {
    fill($('#readonly-text'), config.readOnlyReason ?? '')
    $('#banner-readonly').hidden = false
  }
  $('#live-toggle').addEventListener('click', () => {
    live = !live
    if (live) refreshNow()
    else clearTimeout(timer)
    updateLiveLabel()
  })
  document.addEventListener('visibilitychange', () => { if (!document.hidden && live) refreshNow() })
  document.addEventListener('keydown', (event) => {
    if (event.key === '/' && document.activeElement?.tagName !== 'INPUT') {
      event.preventDefault()
      showTab('queues')
      $('#queue-search').focus()
    }
  })
  document.body.classList.add('ready')
  refreshNow()
}

boot()
