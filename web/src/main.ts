// The dashboard shell: header (title, navigation, live-feed state, language toggle), the offline banner and a
// hash router: #/ (prefecture overview; engineers go to their firm), #/county/{code}, #/park/{id}, #/firm/{id},
// #/device/{id}, #/users, #/tokens, #/account, #/alarm-rules, #/alarm-channels; a query after the path (?range=7d) is the view's time range.
// Signed in with a password, the session cookie does the work (nothing in localStorage); with an API token
// (#token=… or the form), the token is kept in localStorage.
import './style.css';
import { ApiError, setToken, setUnauthorizedHandler, token } from './api.ts';
import { Scope } from './components.ts';
import { byId, clear, h } from './dom.ts';
import { currentLang, setLang, t } from './i18n.ts';
import { feed, type LiveState } from './live.ts';
import { endSession, resolveIdentity, sessionUser, type Identity, type SessionUser } from './session.ts';
import { mountAccount } from './views/account.ts';
import { roleText, st } from './views/signin-texts.ts';
import { mountTokens } from './views/tokens.ts';
import { mountUsers } from './views/users.ts';
import { mountAlarmChannels } from './views/alarms/channels.ts';
import { mountAlarmRules } from './views/alarms/rules.ts';
import { at } from './views/alarms/texts.ts';
import type { ViewContext } from './views/context.ts';
import { mountDevice } from './views/device.ts';
import { mountFirm } from './views/firm.ts';
import { mountLogin, mountSetPassword } from './views/login.ts';
import { notFound } from './views/notfound.ts';
import { mountOverview } from './views/overview.ts';
import { mountPlacePage } from './views/place.ts';
import { hashPath } from './range.ts';

let identity: Identity | undefined;
let current: Scope | undefined;

// #token=... signs in once and is removed from the address.
const hashToken = new URLSearchParams(location.hash.replace(/^#\/?/, '')).get('token');
if (hashToken) {
  setToken(hashToken);
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}
setLang(currentLang());

const app = byId('app');
const header = h('header', { class: 'top' });
const banner = h('div', { id: 'offline-banner', class: 'banner', role: 'status', 'aria-live': 'polite', hidden: true });
const main = h('main', { id: 'view' });
app.replaceChildren(header, banner, main);

function renderHeader(): void {
  const connText = feed.state === 'online' ? t('liveOnline') : feed.state === 'offline' ? t('liveOffline') : t('liveConnecting');
  const nav = h('nav', null,
    identity?.kind === 'prefecture' ? h('a', { href: '#/', 'data-nav': 'overview' }, t('navOverview')) : null,
    identity?.kind === 'engineer' && identity.firmId ? h('a', { href: `#/firm/${encodeURIComponent(identity.firmId)}`, 'data-nav': 'firm' }, t('navFirm')) : null);
  clear(header,
    h('div', { class: 'brand' },
      h('a', { href: '#/', class: 'brand-link' }, h('span', { class: 'brand-title', 'data-testid': 'app-title' }, t('appTitle')), h('span', { class: 'brand-sub' }, t('appSub')))),
    nav,
    h('div', { class: 'bar' },
      identity ? userMenu(identity) : null,
      identity ? h('span', { id: 'conn', class: `conn ${feed.state}`, 'data-state': feed.state, role: 'status' }, connText) : null,
      h('button', { id: 'lang', type: 'button', class: 'lang', lang: currentLang() === 'zh' ? 'en' : 'zh-CN', onclick: toggleLang }, t('langToggle')),
      token() || identity?.user ? h('button', { type: 'button', class: 'link light', 'data-testid': 'sign-out', onclick: signOut }, t('signOut')) : null));
  banner.textContent = t('liveOfflineBanner');
  banner.hidden = feed.state !== 'offline' || !identity;
}

/** Who is signed in and their pages: change password (a person), users (admin, bureau), API tokens. */
function userMenu(who: Identity): HTMLElement {
  const close = (ev: Event) => (ev.currentTarget as HTMLElement).closest('details')?.removeAttribute('open');
  const item = (href: string, text: string) => h('a', { href, class: 'menu-item', style: 'display:block;padding:4px 10px;color:inherit', onclick: close }, text);
  return h('details', { class: 'user-menu', 'data-testid': 'user-menu', style: 'position:relative' },
    h('summary', { style: 'cursor:pointer' }, h('span', { 'data-testid': 'user-name' }, who.name), ' · ', roleText(who.role), who.user ? null : ` (${st('viaToken')})`),
    h('div', { class: 'menu', style: 'position:absolute;right:0;z-index:10;min-width:10em;background:var(--card, #fff);color:var(--text, #222);border:1px solid #ccc;border-radius:4px;padding:4px 0' },
      who.user ? item('#/account', st('menuAccount')) : null,
      who.role !== 'engineer' ? item('#/users', st('menuUsers')) : null,
      item('#/alarm-rules', at('menuRules')),
      who.role !== 'engineer' ? item('#/alarm-channels', at('menuChannels')) : null,
      item('#/tokens', st('menuTokens'))));
}

function toggleLang(): void {
  setLang(currentLang() === 'zh' ? 'en' : 'zh');
  renderHeader();
  route();
  if (!identity && main.querySelector('[data-testid=login-password]')) showLogin();
}

function signOut(): void {
  const hadSession = identity?.user !== null && identity?.user !== undefined;
  feed.close();
  setToken(null);
  identity = undefined;
  if (hadSession) void endSession().finally(() => showLogin());
  else showLogin();
}

function showLogin(problem?: string): void {
  current?.dispose();
  current = undefined;
  identity = undefined;
  feed.close();
  renderHeader();
  mountLogin(main, {
    onSession: (user, password) => { if (user.mustChangePassword) showSetPassword(user, password); else void start(); },
    onToken: (tok) => {
      setToken(tok);
      void start();
    },
  }, problem);
}

/** A password someone else set must be replaced before anything else (the API refuses everything else). */
function showSetPassword(user: SessionUser, current?: string): void {
  renderHeader();
  mountSetPassword(main, user, { onChanged: () => { void start(); }, onSignOut: () => showLogin() }, current);
}

// A token the API no longer accepts is forgotten; an ended session asks for the password again.
const signedOut = () => { const hadToken = token() !== null; setToken(null); showLogin(hadToken ? t('badToken') : st('sessionEnded')); };
setUnauthorizedHandler(signedOut);
feed.status.on((s: LiveState) => {
  renderHeader();
  document.body.dataset.live = s;
});
feed.authFailed.on(signedOut);

function route(): void {
  if (!identity) return;
  current?.dispose();
  const scope = new Scope();
  current = scope;
  main.replaceChildren();
  const ctx: ViewContext = { identity, scope, remount: route };
  const path = hashPath();
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const a of header.querySelectorAll<HTMLAnchorElement>('nav a')) a.classList.toggle('active', a.getAttribute('href') === `#${path}`);
  const fail = (err: unknown) => {
    if (!scope.alive) return;
    if (err instanceof ApiError && err.status === 401) return;
    main.replaceChildren(h('section', { class: 'card full' }, h('p', { class: 'error' }, t('error', { message: err instanceof Error ? err.message : String(err) }))));
  };
  if (parts.length === 0) {
    if (identity.kind === 'engineer' && identity.firmId) {
      location.replace(`#/firm/${encodeURIComponent(identity.firmId)}`);
      return;
    }
    mountOverview(main, ctx);
  } else if ((parts[0] === 'county' || parts[0] === 'park') && parts[1]) {
    mountPlacePage(main, ctx, parts[0], parts[1]).catch(fail);
  } else if (parts[0] === 'firm' && parts[1]) {
    mountFirm(main, ctx, parts[1]).catch(fail);
  } else if (parts[0] === 'device' && parts[1]) {
    mountDevice(main, ctx, parts[1]).catch(fail);
  } else if (parts[0] === 'users') {
    mountUsers(main, ctx);
  } else if (parts[0] === 'alarm-rules') {
    mountAlarmRules(main, ctx);
  } else if (parts[0] === 'alarm-channels') {
    mountAlarmChannels(main, ctx);
  } else if (parts[0] === 'tokens') {
    mountTokens(main, ctx);
  } else if (parts[0] === 'account') {
    mountAccount(main, ctx);
  } else {
    notFound(main, t('notFoundPage'));
  }
  window.scrollTo(0, 0);
}

async function start(): Promise<void> {
  const tok = token();
  const user = tok ? null : await sessionUser().catch(() => null);
  if (!tok && !user) {
    showLogin();
    return;
  }
  if (user?.mustChangePassword) {
    showSetPassword(user);
    return;
  }
  renderHeader();
  main.replaceChildren(h('p', { class: 'muted pad' }, t('loading')));
  try {
    identity = await resolveIdentity();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // the unauthorized handler shows the sign-in form
    main.replaceChildren(h('section', { class: 'card full' }, h('p', { class: 'error' }, t('error', { message: err instanceof Error ? err.message : String(err) })), h('button', { type: 'button', onclick: () => { void start(); } }, t('retry'))));
    return;
  }
  feed.connect(tok);
  renderHeader();
  route();
}

window.addEventListener('hashchange', route);
void start();
