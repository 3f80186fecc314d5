import { pino, type Logger } from 'pino';
import { DdaError } from '../../src/domain/errors.js';

/** A debug-level pino logger that keeps its lines, so tests can read what was logged. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { logger, lines };
}

/** The DdaError a promise rejects with; fails the test if it resolves or throws anything else. */
export async function rejection(p: Promise<unknown>): Promise<DdaError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DdaError) return e;
    throw new Error(`expected a DdaError, got ${String(e)}`);
  }
  throw new Error('expected a rejection, got a result');
}

/** Everything an error could show a log or a user: message, details, stack, JSON. */
export function everythingIn(e: DdaError): string {
  return [e.message, JSON.stringify(e.details), e.stack ?? '', JSON.stringify(e), String(e.cause ?? '')].join('\n');
}
