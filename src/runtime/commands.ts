import type { Actor } from 'xstate';
import type { Logger } from '../log/logger.js';
import type { InstanceCommand } from '../../machines/instance/events.js';
import type { SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';
import type { Interpreter } from './interpreter.js';

/**
 * Each new instance actor's commands go to the interpreter. The supervisor announces a spawn
 * before the child starts, so its first command (launch) is not missed.
 */
export function routeCommands(supervisor: Actor<SupervisorMachine>, interpreter: Interpreter, log: Logger): void {
  supervisor.on('spawned', ({ key }) => {
    const child = supervisor.system.get(`instance.${key}`) as Actor<never> | undefined;
    if (!child) {
      log.error({ key }, 'spawned actor not found in the system');
      return;
    }
    (child as unknown as { on(t: '*', h: (e: InstanceCommand) => void): void }).on('*', (cmd) => interpreter.execute(cmd));
  });
}
