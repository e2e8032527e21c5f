// Shows a sync run's progress: cli-progress bars on a terminal, a line every few seconds elsewhere (CI logs,
// pipes), so a long run is never silent and a log is never flooded with carriage returns.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { RunProgress } from '../sync/sync-runner.service';
import type { RunCounts } from '../sync/sync.types';

export interface RunProgressOptions {
  /** Records the source is expected to hold (when known, e.g. the demo's seed); otherwise the read counter grows. */
  expectedRead?: number;
  /** Outbox rows still pending, to size the send bar; called at most once a second. */
  pendingOutbound?: () => Promise<number>;
  stream?: NodeJS.WriteStream;
  /** Force the line mode (tests) or the bar mode; default: bars on a TTY. */
  tty?: boolean;
  label?: string;
  lineIntervalMs?: number;
}

const sentOf = (c: RunCounts) => c.sent + c.suppressed + c.deadLettered;

export class RunProgressView {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private multi?: MultiBar;
  private readBar?: SingleBar;
  private sendBar?: SingleBar;
  private last?: RunProgress;
  private pendingAt = 0;
  private pending = 0;
  private lastLineAt = 0;
  private lastLine = '';
  private readonly t0 = Date.now();

  constructor(private readonly options: RunProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? !!this.stream.isTTY;
  }

  /** Pass as RunOptions.onProgress. */
  readonly onProgress = (p: RunProgress): void => {
    this.last = { phase: p.phase, counts: { ...p.counts } };
    if (p.phase === 'outbound' && this.options.pendingOutbound && Date.now() - this.pendingAt > 1000) {
      this.pendingAt = Date.now();
      void this.options.pendingOutbound().then(
        (n) => {
          this.pending = n;
          this.render();
        },
        () => undefined,
      );
    }
    this.render();
  };

  private render(): void {
    const p = this.last;
    if (!p) return;
    const c = p.counts;
    if (!this.tty) return this.line(false);
    const label = this.options.label ?? 'sync';
    if (!this.multi) {
      this.multi = new MultiBar(
        {
          stream: this.stream,
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          format: `${label} {phase} |{bar}| {value}/{total} {detail}`,
          fps: 10,
        },
        Presets.shades_classic,
      );
    }
    const readTotal = Math.max(this.options.expectedRead ?? 0, c.read);
    const detail = `created ${c.created} · updated ${c.updated} · unchanged ${c.unchanged} · quarantined ${c.quarantined}`;
    if (!this.readBar) this.readBar = this.multi.create(readTotal || 1, 0, { phase: 'read', detail });
    this.readBar.setTotal(readTotal || 1);
    this.readBar.update(c.read, { phase: 'read', detail });
    if (p.phase === 'outbound') {
      const done = sentOf(c);
      const sendDetail = `sent ${c.sent} · suppressed ${c.suppressed} · dead-lettered ${c.deadLettered}`;
      if (!this.sendBar)
        this.sendBar = this.multi.create(Math.max(done + this.pending, 1), 0, {
          phase: 'send',
          detail: sendDetail,
        });
      this.sendBar.setTotal(Math.max(done + this.pending, done, 1));
      this.sendBar.update(done, { phase: 'send', detail: sendDetail });
    }
  }

  private line(force: boolean): void {
    const p = this.last;
    if (!p) return;
    const now = Date.now();
    if (!force && now - this.lastLineAt < (this.options.lineIntervalMs ?? 2000)) return;
    this.lastLineAt = now;
    const c = p.counts;
    const of = this.options.expectedRead ? `/${this.options.expectedRead}` : '';
    const line = `${this.options.label ?? 'sync'} ${p.phase === 'inbound' ? 'read' : 'send'}: read ${c.read}${of} · created ${c.created} · updated ${c.updated} · unchanged ${c.unchanged} · quarantined ${c.quarantined} · sent ${c.sent}`;
    // The closing line repeats nothing: it is only written when the counts moved since the last one.
    if (force && line === this.lastLine) return;
    this.lastLine = line;
    this.stream.write(`${line} (${((now - this.t0) / 1000).toFixed(1)}s)\n`);
  }

  /** Final bar state (or a last progress line) before the summary is printed. */
  stop(): void {
    if (this.multi) {
      // The expected count is an estimate (deleted records are not read): the finished read bar shows what was.
      if (this.readBar && this.last) this.readBar.setTotal(Math.max(this.last.counts.read, 1));
      if (this.sendBar && this.last) {
        // The run drained every due row: the send bar ends full whatever the estimate was.
        const done = sentOf(this.last.counts);
        this.sendBar.setTotal(Math.max(done, 1));
        this.sendBar.update(done);
      }
      this.multi.stop();
    } else if (this.last) this.line(true);
  }
}
