// Sign-in: the API token is kept in localStorage ('token'); #token=... in the address does the same once.
import { h } from '../dom.ts';
import { t } from '../i18n.ts';

export function mountLogin(root: HTMLElement, onToken: (token: string) => void, problem?: string): void {
  const input = h('input', { id: 'token-input', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form', { class: 'login', 'data-testid': 'login' },
    h('h1', { class: 'page-title' }, t('loginTitle')),
    h('p', { class: 'muted' }, t('loginHelp')),
    problem ? h('p', { class: 'error' }, problem) : null,
    h('label', null, h('span', null, t('tokenLabel')), input),
    h('div', null, h('button', { type: 'submit', class: 'primary' }, t('signIn'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    if (v) onToken(v);
  });
  root.replaceChildren(h('section', { class: 'card narrow' }, form));
  input.focus();
}
