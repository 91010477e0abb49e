// Sign-in: login name and password first (the API sets an httpOnly session cookie; nothing is kept in
// localStorage). An API token (the admin token of the start banner, scripts) can still be entered below it and is
// then kept in localStorage ('token'); #token=... in the address does the same once. A person whose password
// someone else set sees only the set-password form after signing in, until they have chosen their own.
import { ApiError } from '../api.ts';
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import { endSession, signInWithPassword, type SessionUser } from '../session.ts';
import { passwordChangeForm } from './account.ts';
import { st } from './signin-texts.ts';

export interface LoginHandlers {
  /** Signed in with a password: the session cookie is set (the password typed, for a forced change). */
  onSession: (user: SessionUser, password: string) => void;
  onToken: (token: string) => void;
}

function refusal(err: unknown): string {
  if (!(err instanceof ApiError)) return st('failed', { message: String(err) });
  if (err.status === 401) return /disabled/.test(err.message) ? st('disabledAccount') : st('wrongPassword');
  if (err.status === 429) return st('tooManyTries', { seconds: /(\d+) s/.exec(err.message)?.[1] ?? '60' });
  return st('failed', { message: err.message });
}

function passwordForm(handlers: LoginHandlers, problem?: string): HTMLFormElement {
  const login = h('input', { id: 'login-input', name: 'username', autocomplete: 'username', required: true, spellcheck: 'false', autocapitalize: 'off' });
  const password = h('input', { id: 'password-input', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'error', role: 'alert', 'data-testid': 'login-error', hidden: !problem }, problem ?? '');
  const button = h('button', { type: 'submit', class: 'primary' }, st('signIn'));
  const form = h('form', { class: 'login', 'data-testid': 'login-password' },
    h('h1', { class: 'page-title' }, st('passwordTitle')),
    h('p', { class: 'muted' }, st('passwordHelp')),
    message,
    h('label', null, h('span', null, st('loginLabel')), login),
    h('label', null, h('span', null, st('passwordLabel')), password),
    h('div', null, button));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    button.disabled = true;
    signInWithPassword(login.value.trim(), password.value).then((user) => handlers.onSession(user, password.value), (err: unknown) => {
      message.textContent = refusal(err);
      message.hidden = false;
      password.value = '';
      password.focus();
    }).finally(() => { button.disabled = false; });
  });
  return form;
}

function tokenForm(onToken: (token: string) => void): HTMLElement {
  const input = h('input', { id: 'token-input', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form', { class: 'login', 'data-testid': 'login' },
    h('p', { class: 'muted' }, t('loginHelp')),
    h('label', null, h('span', null, t('tokenLabel')), input),
    h('div', null, h('button', { type: 'submit' }, t('signIn'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    if (v) onToken(v);
  });
  return h('details', { class: 'token-login' }, h('summary', null, st('tokenInstead')), form);
}

/** Only the set-password form (and signing out) for a person who must replace a password given to them. */
export function mountSetPassword(root: HTMLElement, user: SessionUser, handlers: { onChanged: () => void; onSignOut: () => void }, current?: string): void {
  const form = passwordChangeForm(user, { current, onChanged: handlers.onChanged });
  const signOut = h('button', { type: 'button', class: 'link', 'data-testid': 'set-password-sign-out', onclick: () => { void endSession().finally(handlers.onSignOut); } }, st('signOut'));
  root.replaceChildren(h('section', { class: 'card narrow', 'data-testid': 'set-password' },
    h('h1', { class: 'page-title' }, st('mustChangeTitle')),
    h('p', { class: 'muted' }, st('mustChangeHelp')),
    form, signOut));
  form.querySelector<HTMLInputElement>(current === undefined ? 'input[name=currentPassword]' : 'input[name=password]')?.focus();
}

export function mountLogin(root: HTMLElement, handlers: LoginHandlers, problem?: string): void {
  const form = passwordForm(handlers, problem);
  root.replaceChildren(h('section', { class: 'card narrow' }, form, tokenForm(handlers.onToken)));
  form.querySelector('input')?.focus();
}
