import { $ } from './dom.js';

/**
 * Asks before an action that changes the relay: a modal dialog (never a bare click). With `input`,
 * the dialog also asks for a value (e.g. a name); resolves to false on cancel, else true or the value.
 */
export function confirmAction(title, text, { confirmLabel = 'Confirm', input = null } = {}) {
  const dialog = $('#confirm');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = confirmLabel;
  const field = $('#confirm-input');
  $('#confirm-input-label').hidden = !input;
  if (input) {
    $('#confirm-input-name').textContent = input.label;
    field.value = input.value ?? '';
  }
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (dialog.returnValue !== 'ok') resolve(false);
      else resolve(input ? field.value : true);
    }, { once: true });
  });
}
