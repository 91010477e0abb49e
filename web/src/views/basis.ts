// The energy basis a view shows: 当量值 (calorific) or 等价值 (primary), chosen by the user and remembered.
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import type { BasisId } from '../types.ts';

export function basisChoice(): BasisId {
  return localStorage.getItem('basis') === 'primary' ? 'primary' : 'calorific';
}

/** The 当量值 / 等价值 switch; the choice is remembered. */
export function basisSwitch(onChange: () => void): HTMLElement {
  const current = basisChoice();
  const mk = (id: BasisId) => h('button', {
    type: 'button', class: `seg${current === id ? ' on' : ''}`, 'aria-pressed': current === id ? 'true' : 'false', 'data-basis-choice': id,
    onclick: () => { localStorage.setItem('basis', id); onChange(); },
  }, t(id === 'calorific' ? 'basis_calorific' : 'basis_primary'));
  return h('div', { class: 'segmented', role: 'group', 'aria-label': t('basis') }, mk('calorific'), mk('primary'));
}
