import type { Policy } from './types.js';

/**
 * indix/gocd-mesos, first version (`GOCDPoller.pollAndAddTask`), every 2 min: remember whether
 * the poll saw a backlog; after more than 5 polls that all saw one, start one agent and clear
 * the history. It never scales down. (As published the history is only cleared after a launch,
 * `drop(0)` being a no-op, so one quiet poll would stop it launching for good; we implement the
 * evident intent — a quiet poll clears the history.)
 */
export function gocdMesos(o: { periodMs?: number } = {}): Policy {
  let backlogPolls = 0;
  return {
    name: 'gocd-mesos',
    periodMs: o.periodMs ?? 2 * 60_000,
    floor: Infinity,
    step(w) {
      backlogPolls = w.pending > 0 ? backlogPolls + 1 : 0;
      if (backlogPolls > 5) {
        backlogPolls = 0;
        return { launch: 1 };
      }
      return {};
    },
  };
}
