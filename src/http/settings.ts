import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { invalid, optional, optionalSecret, parseEnv, problem, withSecret, type Env } from '../config/env.js';

/**
 * The status server's variables, declared beside the code that uses them:
 * - DDA_HTTP_LISTEN: `[host:]port`; unset, no server. Loopback unless a host is given.
 * - DDA_HTTP_TOKEN, or DDA_HTTP_TOKEN_FILE (a file holding it, the Woodpecker convention for
 *   secrets): the bearer token `/`, `/api/*` and `/metrics` require when the server listens
 *   beyond loopback. Without one, the daemon refuses to listen there.
 */
export interface HttpSettings {
  listen: string | undefined;
  /** Non-enumerable: logging the settings cannot print it. */
  readonly token: string | undefined;
}

/** A token shorter than this is guessable by anyone who can reach the port. */
const MIN_TOKEN = 16;

const schema = z.object({
  DDA_HTTP_LISTEN: optional(),
  DDA_HTTP_TOKEN: optionalSecret().refine((v) => v === undefined || v.trim().length >= MIN_TOKEN, { error: `must be at least ${MIN_TOKEN} characters (value not shown), e.g. from: openssl rand -hex 32` }),
  DDA_HTTP_TOKEN_FILE: optional().transform((path, ctx) => {
    if (path === undefined) return undefined;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      return problem(ctx, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    // A file written with `echo` ends with a newline that is no part of the token.
    const token = text.replace(/\r?\n$/, '');
    return token.trim().length >= MIN_TOKEN ? token : problem(ctx, `the token in ${path} must be at least ${MIN_TOKEN} characters (value not shown)`);
  }),
});

export function loadHttpSettings(env: Env): HttpSettings {
  const v = parseEnv(schema, env);
  if (v.DDA_HTTP_TOKEN !== undefined && v.DDA_HTTP_TOKEN_FILE !== undefined) throw invalid('DDA_HTTP_TOKEN_FILE', 'set either DDA_HTTP_TOKEN or DDA_HTTP_TOKEN_FILE, not both');
  return withSecret({ listen: v.DDA_HTTP_LISTEN }, 'token', v.DDA_HTTP_TOKEN ?? v.DDA_HTTP_TOKEN_FILE);
}
