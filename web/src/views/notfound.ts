// Shown for a firm or device that does not exist or that this token may not see (the API answers 404 for both,
// so nothing tells an engineer whether another firm's id exists).
import { ApiError, get } from '../api.ts';
import type { Scope } from '../components.ts';
import { h } from '../dom.ts';
import { t } from '../i18n.ts';

export function notFound(root: HTMLElement, message: string): void {
  root.replaceChildren(h('section', { class: 'card full notice', 'data-testid': 'not-found' },
    h('h1', { class: 'page-title' }, t('notFoundTitle')),
    h('p', null, message),
    h('p', null, h('a', { href: '#/' }, t('backHome')))));
}

/**
 * The firm or device at `path`, or undefined when the API refuses it with one of `statuses` (then the view says it
 * was not found) or the view was left meanwhile.
 */
export async function getOrNotFound<T>(root: HTMLElement, scope: Scope, path: string, statuses: readonly number[], message: string): Promise<T | undefined> {
  try {
    return await get<T>(path);
  } catch (err) {
    if (!scope.alive) return undefined;
    if (err instanceof ApiError && statuses.includes(err.status)) {
      notFound(root, message);
      return undefined;
    }
    throw err;
  }
}
