/* global document, setTimeout */
import { $, fill, h } from './dom.js'

/**
 * A confirmation in a native <dialog>. Resolves true when the operator
 * confirms. The subject (a queue name, a task id) is shown as text.
 */
export function confirmAction ({ title, message, subject, confirmLabel, danger = false }) {
  const dialog = $('#confirm')
  fill($('#confirm-title', dialog), title)
  fill($('#confirm-message', dialog), message)
  fill($('#confirm-subject', dialog), subject ?? '')
  $('#confirm-subject', dialog).hidden = subject === undefined
  const ok = $('#confirm-ok', dialog)
  fill(ok, confirmLabel)
  ok.className = danger ? 'btn danger' : 'btn primary'
  return new Promise((resolve) => {
    const onClose = () => {
      dialog.removeEventListener('close', onClose)
      resolve(dialog.returnValue === 'confirm')
    }
    dialog.addEventListener('close', onClose)
    dialog.returnValue = ''
    dialog.showModal()
    $('#confirm-cancel', dialog).focus()
  })
}

export function toast (message, kind = 'ok') {
  const box = $('#toasts')
  const el = h('div', { class: ['toast', kind], role: kind === 'error' ? 'alert' : 'status' }, message)
  box.append(el)
  setTimeout(() => { el.classList.add('leaving') }, kind === 'error' ? 6000 : 3000)
  setTimeout(() => { el.remove() }, kind === 'error' ? 6400 : 3400)
}

/** Wires the dialog's buttons once (no <form>: the page's CSP has form-action 'none'). */
export function setupDialogs () {
  const dialog = document.getElementById('confirm')
  dialog.addEventListener('cancel', () => { dialog.returnValue = '' })
  document.getElementById('confirm-ok').addEventListener('click', () => dialog.close('confirm'))
  document.getElementById('confirm-cancel').addEventListener('click', () => dialog.close(''))
}
