// Shown for a firm or device that does not exist or that this token may not see (the API answers 404 for both,
// so nothing tells an engineer whether another firm's id exists).
import { h } from '../dom.ts';
import { t } from '../i18n.ts';

export function notFound(root: HTMLElement, message: string): void {
  root.replaceChildren(h('section', { class: 'card full notice', 'data-testid': 'not-found' },
    h('h1', { class: 'page-title' }, t('notFoundTitle')),
    h('p', null, message),
    h('p', null, h('a', { href: '#/' }, t('backHome')))));
}
