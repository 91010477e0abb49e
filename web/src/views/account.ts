// #/account: the signed-in person changes their own password (the current one first). The API ends their other
// sessions and gives this browser a new one, so the page stays signed in. The same form is all a person sees
// after signing in with a password someone else set (first admin, an admin's reset) until they have chosen theirs.
import { put } from '../api.ts';
import { card } from '../components.ts';
import { h } from '../dom.ts';
import type { SessionUser } from '../session.ts';
import type { ViewContext } from './context.ts';
import { st } from './signin-texts.ts';

export interface PasswordFormOptions {
  /** The current password when the page has it (just typed at sign-in): not asked again. */
  current?: string;
  onChanged: () => void;
}

/** Current, new and repeated password; PUT /session/password. */
export function passwordChangeForm(user: SessionUser, opts: PasswordFormOptions): HTMLFormElement {
  const field = (name: string, autocomplete: string) => h('input', { name, type: 'password', required: true, autocomplete });
  const current = field('currentPassword', 'current-password');
  if (opts.current !== undefined) current.value = opts.current;
  const next = field('password', 'new-password');
  const again = field('again', 'new-password');
  const message = h('p', { role: 'status', 'data-testid': 'account-status', hidden: true });
  const say = (text: string, error: boolean) => { message.textContent = text; message.className = error ? 'error' : 'muted'; message.hidden = false; };
  const button = h('button', { type: 'submit', class: 'primary' }, st('save'));
  const form = h('form', { class: 'login', 'data-testid': 'account-form' },
    h('input', { type: 'hidden', name: 'username', autocomplete: 'username', value: user.login }),
    h('label', { hidden: opts.current !== undefined }, h('span', null, st('currentPassword')), current),
    h('label', null, h('span', null, st('newPassword')), next),
    h('label', null, h('span', null, st('repeatPassword')), again),
    message,
    h('div', null, button));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (next.value !== again.value) return say(st('passwordsDiffer'), true);
    if (next.value === current.value) return say(st('samePassword'), true);
    button.disabled = true;
    put<null>('/session/password', { password: next.value, currentPassword: current.value }).then(() => {
      form.reset();
      say(st('passwordChanged'), false);
      opts.onChanged();
    }, (err: unknown) => say(st('failed', { message: err instanceof Error ? err.message : String(err) }), true)).finally(() => { button.disabled = false; });
  });
  return form;
}

export function mountAccount(root: HTMLElement, ctx: ViewContext): void {
  const c = card(st('accountTitle'), { id: 'account' });
  root.replaceChildren(c.el);
  const user = ctx.identity.user;
  if (!user) {
    c.body.replaceChildren(h('p', { class: 'muted' }, st('accountTokenOnly')));
    return;
  }
  c.body.replaceChildren(passwordChangeForm(user, { onChanged: () => {} }));
}
