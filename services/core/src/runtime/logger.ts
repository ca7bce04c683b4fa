/**
 * Structured JSON logs (pino), one line per event, with `component` and — per request — `requestId`.
 * Level from `DUET_LOG_LEVEL` (default `info`); `silent` turns logs off (tests).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(component: string, opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = opts.level ?? process.env.DUET_LOG_LEVEL ?? 'info';
  const base = { component, pid: process.pid };
  return opts.destination
    ? pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, opts.destination)
    : pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime });
}
