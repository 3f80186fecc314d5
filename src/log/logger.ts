import { pino, type DestinationStream, type Logger } from 'pino';
import type { Clock } from '../domain/clock.js';

export type { Logger } from 'pino';

/**
 * JSON lines for monitoring. Timestamps come from the injected clock, so a simulated run logs
 * simulated time. Fields that could hold a secret are censored as a last line of defence;
 * the first is never putting secrets in log objects at all.
 */
export function createLogger(opts: { clock: Clock; level?: string; destination?: DestinationStream; name?: string }): Logger {
  return pino(
    {
      ...(opts.name ? { name: opts.name } : {}),
      level: opts.level ?? 'info',
      base: undefined,
      timestamp: () => `,"time":"${new Date(opts.clock.now()).toISOString()}"`,
      redact: {
        paths: ['token', '*.token', 'secret', '*.secret', 'password', '*.password', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'secretAccessKey', '*.secretAccessKey'],
        censor: '[redacted]',
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
