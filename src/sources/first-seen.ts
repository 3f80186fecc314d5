/**
 * When a server does not say when work entered its queue (Woodpecker tasks, GoCD scheduled
 * jobs), the first poll that saw it stands in. Ids not seen in the latest poll are forgotten,
 * so the map stays as small as the queue.
 */
export class FirstSeen {
  private seen = new Map<string, number>();

  /** Record this poll's ids at `now`; returns a lookup for their first-seen times. */
  observe(ids: Iterable<string>, now: number): (id: string) => number {
    const next = new Map<string, number>();
    for (const id of ids) next.set(id, this.seen.get(id) ?? now);
    this.seen = next;
    return (id) => next.get(id) ?? now;
  }
}
