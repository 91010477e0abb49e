// What the router gives a view: who is signed in, a scope for its listeners and timers, and a way to mount the
// view again (after the energy basis or the language changed).
import type { Scope } from '../components.ts';
import type { Identity } from '../session.ts';

export interface ViewContext {
  identity: Identity;
  scope: Scope;
  remount(): void;
}
