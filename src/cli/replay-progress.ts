/**
 * The embedded replay's progress, for a person watching: on a terminal one line rewritten in
 * place a few times a second (wall time); elsewhere (a pipe, a CI log) one line per simulated
 * day, so a 20-day replay prints about 20 lines.
 */
export interface ProgressSample {
  /** Simulated time, ms since the epoch. */
  now: number;
  jobsDone: number;
  jobs: number;
  /** Instances up (pending or running). */
  instances: number;
  /** Compute and disks spent so far, USD. */
  spentUsd: number;
}

/** `2016-07-02 14:05  jobs 812/2073 done  7 instances  52.10 USD spent` (UTC, the trace's zone). */
export function formatProgress(p: ProgressSample): string {
  const at = new Date(p.now).toISOString();
  const width = String(p.jobs).length;
  return `${at.slice(0, 10)} ${at.slice(11, 16)}  jobs ${String(p.jobsDone).padStart(width)}/${p.jobs} done  ${String(p.instances).padStart(2)} instance${p.instances === 1 ? ' ' : 's'}  ${p.spentUsd.toFixed(2)} USD spent`;
}

const DAY_MS = 86_400_000;
/** Carriage return, then erase to the end of the line: the next text replaces the line. */
const REWRITE = '\r\u001b[K';

export class ProgressLine {
  private lastWall = -Infinity;
  private lastDay: number | null = null;
  private shown = false;
  private lastLine = '';

  /**
   * `inPlace`: rewrite one line (a terminal) rather than print a line per simulated day.
   * `wallNow` is the wall clock in ms (injected: the tests step it), `everyMs` the fastest
   * a terminal line is redrawn.
   */
  constructor(
    private readonly out: { write(s: string): unknown },
    private readonly inPlace: boolean,
    private readonly wallNow: () => number,
    private readonly everyMs = 250,
  ) {}

  /** After a simulated instant; `sample` is only read when a line is due. */
  update(now: number, sample: () => ProgressSample): void {
    if (this.inPlace) {
      const wall = this.wallNow();
      if (wall - this.lastWall < this.everyMs) return;
      this.lastWall = wall;
      this.out.write(REWRITE + formatProgress(sample()));
      this.shown = true;
      return;
    }
    const day = Math.floor(now / DAY_MS);
    if (this.lastDay === null) {
      this.lastDay = day;
      return;
    }
    if (day === this.lastDay) return;
    this.lastDay = day;
    this.lastLine = formatProgress(sample());
    this.out.write(`${this.lastLine}\n`);
  }

  /** The last state, on a line of its own (unless the last day's line said just that). */
  done(last: ProgressSample): void {
    const line = formatProgress(last);
    if (this.inPlace) this.out.write(`${this.shown ? REWRITE : ''}${line}\n`);
    else if (line !== this.lastLine) this.out.write(`${line}\n`);
  }
}
