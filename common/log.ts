import { pino, type Logger } from 'pino';

export type { Logger };

/** A named logger at `level` (LOG_LEVEL comes through the process' Config). */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({ name, level });
}
