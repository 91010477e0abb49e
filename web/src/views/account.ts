// #/account: the signed-in person changes their own password (the current one first). The API ends their other
// sessions and gives this browser a new one, so the page stays signed in.
import { put } from '../api.ts';
import { card } from '../components.ts';
import { h } from '../dom.ts';
import type { ViewContext } from './context.ts';
import { st } from './signin-texts.ts';

export function mountAccount(root: HTMLElement, ctx: ViewContext): void {
  const c = card(st('accountTitle'), { id: 'account' });
  root.replaceChildren(c.el);
  const user = ctx.identity.user;
  if (!user) {
    c.body.replaceChildren(h('p', { class: 'muted' }, st('accountTokenOnly')));
    return;
  }
  const field = (name: string, autocomplete: string) => h('input', { name, type: 'password', required: true, autocomplete });
  const current = field('currentPassword', 'current-password');
  const next = field('password', 'new-password');
  const again = field('again', 'new-password');
  const message = h('p', { role: 'status', 'data-testid': 'account-status', hidden: true });
  const say = (text: string, error: boolean) => { message.textContent = text; message.className = error ? 'error' : 'muted'; message.hidden = false; };
  const form = h('form', { class: 'login', 'data-testid': 'account-form' },
    h('input', { type: 'hidden', name: 'username', autocomplete: 'username', value: user.login }),
    h('label', null, h('span', null, st('currentPassword')), current),
    h('label', null, h('span', null, st('newPassword')), next),
    h('label', null, h('span', null, st('repeatPassword')), again),
    message,
    h('div', null, h('button', { type: 'submit', class: 'primary' }, st('save'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (next.value !== again.value) return say(st('passwordsDiffer'), true);
    put<null>(`/users/${user.id}/password`, { password: next.value, currentPassword: current.value }).then(() => {
      form.reset();
      say(st('passwordChanged'), false);
    }, (err: unknown) => say(st('failed', { message: err instanceof Error ? err.message : String(err) }), true));
  });
  c.body.replaceChildren(form);
}
