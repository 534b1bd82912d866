import { h } from './dom.js'

/**
 * The operator actions on a queue, with when each applies. Both the table row
 * and the detail panel build their buttons from this list, so the rules live
 * in one place (the server enforces them again: 409 when they do not apply).
 */
export function queueActions (q) {
  const head = q.head
  const running = q.state === 'running'
  return [
    {
      key: 'retry',
      label: q.state === 'retrying' || q.state === 'throttled' ? 'Retry now' : 'Retry',
      enabled: q.state === 'halted' || q.state === 'retrying' || q.state === 'throttled',
      why: 'Retry applies to a halted head, a failed head waiting for its backoff, or a throttled head (it tries for its token now).',
    },
    {
      key: 'skip',
      label: 'Skip',
      danger: true,
      enabled: head !== null && !running,
      why: head === null ? 'The queue has no head task.' : 'A running head cannot be skipped; pause the queue and wait for it to settle.',
      confirm: head === null
        ? null
        : {
            title: 'Skip the head task?',
            message: `Task ${head.id} (${head.name}) moves to the dead letters and the queue continues with the next task. You can requeue it later from Dead letters.`,
            subject: q.name,
            confirmLabel: 'Skip task',
            danger: true,
          },
    },
    q.paused
      ? { key: 'resume', label: 'Resume', enabled: true, why: '' }
      : { key: 'pause', label: 'Pause', enabled: true, why: '' },
  ]
}

/** The actions a table row shows: what an operator most likely wants for this state. */
export function rowActionKeys (q) {
  switch (q.state) {
    case 'halted': return ['retry', 'skip']
    case 'retrying': return ['retry', 'skip']
    case 'missing-handler': return ['skip', 'pause']
    case 'throttled': return ['retry', 'pause']
    case 'paused': return ['resume']
    default: return [q.paused ? 'resume' : 'pause']
  }
}

/**
 * A button that explains itself when it cannot be used: the reason goes on a
 * wrapping span because browsers show no tooltip for a disabled button.
 */
export function actionButton (action, { readOnlyReason, onRun, small = false }) {
  const blocked = readOnlyReason ?? (action.enabled ? null : action.why)
  const button = h('button', {
    type: 'button',
    class: ['btn', small && 'sm', action.danger && 'danger-outline'],
    disabled: blocked !== null,
    dataset: { action: action.key },
    'aria-label': action.label,
    onclick: (event) => { event.stopPropagation(); onRun(action) },
  }, action.label)
  return h('span', { class: 'btn-wrap', title: blocked ?? undefined }, button)
}
