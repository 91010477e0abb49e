// #/tokens: API tokens without their secrets (name, role, firm, last use, expiry, status). Admins revoke any,
// an engineer their own firm's (the API decides who sees which); bureau staff see them all, read-only.
import { del, get } from '../api.ts';
import { card, load, table, td } from '../components.ts';
import { h } from '../dom.ts';
import { dateTime } from '../format.ts';
import type { Firm } from '../types.ts';
import type { ViewContext } from './context.ts';
import { roleText, st, type SigninKey } from './signin-texts.ts';

interface TokenInfo {
  tokenId: string;
  role: string;
  firmId: string | null;
  name: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  operator: boolean;
  status: 'active' | 'expired' | 'revoked';
}

function tokenRow(tk: TokenInfo, firms: Map<string, Firm>, mayRevoke: boolean, status: HTMLElement, done: () => void): HTMLTableRowElement {
  const revoke = () => {
    if (!window.confirm(st('tokenRevokeConfirm', { name: tk.name }))) return;
    del<null>(`/tokens/${tk.tokenId}`).then(done, (err: unknown) => {
      status.textContent = st('failed', { message: err instanceof Error ? err.message : String(err) });
      status.hidden = false;
    });
  };
  const canRevoke = mayRevoke && tk.status === 'active' && !tk.operator;
  return h('tr', { 'data-token': tk.tokenId },
    td(tk.operator ? `${tk.name} (${st('tokenOperator')})` : tk.name), td(roleText(tk.role)), td(tk.firmId ? (firms.get(tk.firmId)?.name ?? tk.firmId) : ''),
    td(tk.lastUsedAt === null ? st('never') : dateTime(tk.lastUsedAt)), td(tk.expiresAt === null ? '' : dateTime(tk.expiresAt)),
    td(st(`tokenStatus${tk.status}` as SigninKey)),
    ...(mayRevoke ? [td(canRevoke ? h('button', { type: 'button', class: 'link', 'data-action': 'revoke', onclick: revoke }, st('tokenRevoke')) : '')] : []));
}

export function mountTokens(root: HTMLElement, ctx: ViewContext): void {
  const mayRevoke = ctx.identity.role !== 'bureau';
  const list = card(st('tokensTitle'), { full: true });
  const status = h('p', { class: 'error', role: 'status', hidden: true });
  root.replaceChildren(list.el);
  const refresh = (): void => {
    void load(ctx.scope, list.body, () => Promise.all([get<TokenInfo[]>('/tokens'), get<Firm[]>('/firms')]), ([tokens, firms]) => {
      const byId = new Map(firms.map((f) => [f.id, f]));
      const headers = [st('tokenName'), st('tokenRole'), st('tokenFirm'), st('tokenLastUsed'), st('tokenExpires'), st('tokenStatus'), ...(mayRevoke ? [st('userActions')] : [])];
      list.body.replaceChildren(status, table(headers, tokens.map((tk) => tokenRow(tk, byId, mayRevoke, status, refresh)), { 'data-testid': 'tokens' }));
    });
  };
  refresh();
}
