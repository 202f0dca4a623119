// The pino root logger, child loggers with context, and the audit's log(message, source, level) facade.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

/** Builds a root logger. Only main/ (and tests) call this; everyone else is handed a logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey', 'apiKey'], censor: '[redacted]' },
    },
    options.destination,
  );
}

/**
 * The audit's `log(message, source, level)`, bound to a logger: `source` becomes a field
 * (`worker`, `security`, …) so operators can grep for it as they did before.
 */
export function bindLog(logger: Logger): (message: string, source?: string, level?: LogLevel) => void {
  return (message, source = 'app', level = 'info') => {
    logger[level]({ source }, message);
  };
}
