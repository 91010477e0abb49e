// Alarms: rule kinds (rules.ts), the store port (store.ts) with its SQLite adapter (sqlite-store.ts; PostgreSQL in
// pg-store.ts, imported only where REGISTRY_URL selects it), the engine that evaluates
// rules on live summaries and periodic checks (engine.ts) and the texts in Chinese and English (templates.ts).
export * from './rules.ts';
export * from './store.ts';
export * from './sqlite-store.ts';
export * from './engine.ts';
export * from './templates.ts';
