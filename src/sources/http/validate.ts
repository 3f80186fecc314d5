import type { z } from 'zod';
import { DdaError } from '../../domain/errors.js';

/**
 * Check a decoded body against the shape we depend on. Unknown extra fields pass (servers add
 * fields between releases); a missing or mistyped field we read is SOURCE_MALFORMED, naming the
 * field's path but never its value.
 */
export function validate<S extends z.ZodType>(source: string, path: string, schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
  throw new DdaError('SOURCE_MALFORMED', `${source}: ${path}: unexpected body at ${field}: ${issue?.code ?? 'invalid'}`, {
    source,
    path,
    field,
  });
}
