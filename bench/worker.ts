import { describeError } from '../src/domain/errors.js';
import { runSpec, type RunSpec } from './scenario.js';

/** A bench worker process: runs the specs it is sent, one at a time, and answers each. */
process.on('message', (msg: { spec: RunSpec }) => {
  runSpec(msg.spec).then(
    (result) => process.send!({ ok: true, result }),
    (e: unknown) => process.send!({ ok: false, id: msg.spec.id, error: describeError(e) }),
  );
});
