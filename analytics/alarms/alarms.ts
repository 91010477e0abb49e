// Alarms: rule kinds (rules.ts), the store in the monitoring database (store.ts), the engine that evaluates
// rules on live summaries and periodic checks (engine.ts) and the texts in Chinese and English (templates.ts).
export * from './rules.ts';
export * from './store.ts';
export * from './engine.ts';
export * from './templates.ts';
