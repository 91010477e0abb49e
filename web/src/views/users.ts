// #/users: people who sign in with a password. Admins create them, disable or enable them and reset their
// password; bureau staff see the list. With no users yet, the admin (signed in with the start banner's admin
// token) is asked to create their own admin account first.
import { get, patch, post, put } from '../api.ts';
import { card, load, table, td } from '../components.ts';
import { h } from '../dom.ts';
import { dateTime } from '../format.ts';
import type { SessionUser } from '../session.ts';
import type { Firm } from '../types.ts';
import type { ViewContext } from './context.ts';
import { roleText, st } from './signin-texts.ts';

function notice(el: HTMLElement, text: string, error = false): void {
  el.textContent = text;
  el.className = error ? 'error' : 'muted';
  el.hidden = false;
}

function failure(el: HTMLElement): (err: unknown) => void {
  return (err) => notice(el, st('failed', { message: err instanceof Error ? err.message : String(err) }), true);
}

/** The form of a new user; the first one is proposed as an admin (the admin token's holder making their own account). */
function createForm(firms: Firm[], status: HTMLElement, done: () => void, proposedRole: 'admin' | 'engineer'): HTMLFormElement {
  const login = h('input', { name: 'login', required: true, pattern: '[a-z0-9][a-z0-9._\\-]{1,63}', autocomplete: 'off', spellcheck: 'false' });
  const name = h('input', { name: 'displayName', required: true, maxlength: 100 });
  const role = h('select', { name: 'role' }, ...(['engineer', 'bureau', 'admin'] as const).map((r) => h('option', { value: r, selected: r === proposedRole }, roleText(r))));
  const firm = h('select', { name: 'firmId' }, ...firms.map((f) => h('option', { value: f.id }, f.name)));
  const password = h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password' });
  const syncFirm = () => { firm.disabled = role.value !== 'engineer'; };
  role.addEventListener('change', syncFirm);
  syncFirm();
  const form = h('form', { class: 'onboard', 'data-testid': 'user-create' },
    h('label', null, h('span', null, st('userLogin')), login),
    h('label', null, h('span', null, st('userName')), name),
    h('label', null, h('span', null, st('userRole')), role),
    h('label', null, h('span', null, st('userFirm')), firm),
    h('label', null, h('span', null, st('newPassword')), password),
    h('div', null, h('button', { type: 'submit', class: 'primary' }, st('userCreateButton'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = { login: login.value.trim().toLowerCase(), displayName: name.value.trim(), role: role.value, password: password.value, ...(role.value === 'engineer' ? { firmId: firm.value } : {}) };
    post<SessionUser>('/users', body).then((u) => {
      notice(status, st('userCreated', { login: u.login }));
      form.reset();
      role.value = 'engineer';
      syncFirm();
      done();
    }, failure(status));
  });
  return form;
}

function userRow(u: SessionUser, firms: Map<string, Firm>, admin: boolean, status: HTMLElement, done: () => void): HTMLTableRowElement {
  const toggle = () => patch<SessionUser>(`/users/${u.id}`, { disabled: !u.disabled }).then(done, failure(status));
  const reset = () => {
    const pw = window.prompt(st('userResetPrompt', { login: u.login }));
    if (pw) put<null>(`/users/${u.id}/password`, { password: pw }).then(() => { notice(status, st('userResetDone', { login: u.login })); done(); }, failure(status));
  };
  const actions = admin ? h('span', { class: 'actions' },
    h('button', { type: 'button', class: 'link', 'data-action': u.disabled ? 'enable' : 'disable', onclick: () => { void toggle(); } }, u.disabled ? st('userEnable') : st('userDisable')),
    ' ',
    h('button', { type: 'button', class: 'link', 'data-action': 'reset', onclick: reset }, st('userReset'))) : null;
  return h('tr', { 'data-login': u.login },
    td(u.login), td(u.displayName), td(roleText(u.role)), td(u.firmId ? (firms.get(u.firmId)?.name ?? u.firmId) : ''),
    td(u.lastLoginAt === null ? st('never') : dateTime(u.lastLoginAt)), td(u.disabled ? st('userDisabled') : u.mustChangePassword ? st('userMustChange') : st('userActive')),
    ...(admin ? [td(actions)] : []));
}

export function mountUsers(root: HTMLElement, ctx: ViewContext): void {
  const admin = ctx.identity.role === 'admin';
  const list = card(st('usersTitle'), { full: true });
  const status = h('p', { class: 'muted', role: 'status', 'data-testid': 'users-status', hidden: true });
  root.replaceChildren(list.el);
  if (ctx.identity.role === 'engineer') {
    list.body.replaceChildren(h('p', { class: 'error' }, st('forbidden')));
    return;
  }
  const create = admin ? card(st('userCreate'), { full: true }) : undefined;
  if (create) root.append(create.el);
  const refresh = (): void => {
    void load(ctx.scope, list.body, () => Promise.all([get<SessionUser[]>('/users'), get<Firm[]>('/firms')]), ([users, firms]) => {
      const byId = new Map(firms.map((f) => [f.id, f]));
      const headers = [st('userLogin'), st('userName'), st('userRole'), st('userFirm'), st('userLastLogin'), st('userStatus'), ...(admin ? [st('userActions')] : [])];
      list.body.replaceChildren(
        ...(users.length === 0 && admin ? [h('p', { class: 'notice', 'data-testid': 'first-admin' }, st('usersFirstAdmin'))] : []),
        status,
        table(headers, users.map((u) => userRow(u, byId, admin, status, refresh)), { 'data-testid': 'users' }));
      if (create && !create.body.querySelector('form')) create.body.replaceChildren(createForm(firms, status, refresh, users.length === 0 ? 'admin' : 'engineer'));
    });
  };
  refresh();
}
