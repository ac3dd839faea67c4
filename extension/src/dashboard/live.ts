// The page's ONE WebSocket to `/api/v1/ws`: channel subscriptions shared by every page,
// reconnection with backoff, resume `after` the last seq seen, and resync notices.
//
// Protocol (routes/ws.rs): the server says `hello {epoch, seq, heartbeat_s}`; we send
// `subscribe {channels, after?}`; it replays what we missed or says `resync`; then events
// `{seq, type, channel, data, ...}`, `heartbeat {seq}` and, when we fall behind, `resync`.
// When the server restarted (new epoch), a resume could not be complete: subscribers get
// `{type: "resync"}` and refetch.

/** One frame from the server (an event has `channel` and `seq`). */
export interface LiveEvent {
  type: string;
  channel?: string;
  seq?: number;
  data?: Record<string, unknown>;
  [k: string]: unknown;
}

export type LiveStatus = "connecting" | "open" | "closed";

/** The part of `WebSocket` used here (tests pass a fake). */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface LiveOptions {
  /** Opens a socket (default: `new WebSocket(ws(s)://<host>/api/v1/ws)`). */
  connect?: () => SocketLike;
  /** First reconnect delay in ms (doubles up to `maxDelay`, with jitter). */
  minDelay?: number;
  maxDelay?: number;
  /** Timers (tests pass fakes). */
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (h: unknown) => void;
  random?: () => number;
  /** Told of every failed connection attempt (the shell checks whether the session ended). */
  onFailure?: (attempt: number) => void;
}

type Handler = (ev: LiveEvent) => void;
interface Sub {
  channels: Set<string>;
  fn: Handler;
}

const OPEN = 1;

function defaultConnect(): SocketLike {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return new WebSocket(`${proto}//${location.host}/api/v1/ws`) as unknown as SocketLike;
}

export class Live {
  status: LiveStatus = "closed";
  /** Last event seq seen (or passed over by a heartbeat) in `epoch`. */
  lastSeq: number | null = null;
  /** The server's instance id (`hello.epoch`): it changes when the server restarts. */
  epoch: string | number | null = null;
  /** Resync notices given to subscribers so far (tests and diagnostics). */
  resyncs = 0;

  private readonly subs = new Set<Sub>();
  private readonly statusFns = new Set<(s: LiveStatus) => void>();
  private sock: SocketLike | null = null;
  private subscribed = new Set<string>();
  private attempt = 0;
  private timer: unknown = null;
  private watchdog: unknown = null;
  private heartbeatMs = 15_000;
  private stopped = true;
  private readonly o: Required<Omit<LiveOptions, "onFailure">> & Pick<LiveOptions, "onFailure">;

  constructor(opts: LiveOptions = {}) {
    this.o = {
      connect: opts.connect ?? defaultConnect,
      minDelay: opts.minDelay ?? 250,
      maxDelay: opts.maxDelay ?? 10_000,
      setTimeout: opts.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
      clearTimeout: opts.clearTimeout ?? ((h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>)),
      random: opts.random ?? Math.random,
      onFailure: opts.onFailure,
    };
  }

  /** Receive the events of `channels` (plus `{type: "resync"}` notices); returns unsubscribe. */
  subscribe(channels: string[], fn: Handler): () => void {
    const sub: Sub = { channels: new Set(channels), fn };
    this.subs.add(sub);
    this.start();
    this.sync();
    return () => {
      this.subs.delete(sub);
      this.sync();
    };
  }

  /** Follow the connection state; called at once with the current one. Returns unsubscribe. */
  onStatus(fn: (s: LiveStatus) => void): () => void {
    this.statusFns.add(fn);
    fn(this.status);
    return () => this.statusFns.delete(fn);
  }

  /** Connect (done by the first subscribe). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  /** Close for good (logout). */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const s = this.sock;
    this.sock = null;
    if (s) {
      s.onclose = s.onmessage = s.onerror = s.onopen = null;
      s.close(1000, "bye");
    }
    this.setStatus("closed");
  }

  /** Drop the connection now and reconnect (tests, and the "reconnect" button). */
  reconnect(): void {
    this.sock?.close(4000, "reconnect");
  }

  private wanted(): Set<string> {
    const w = new Set<string>();
    for (const s of this.subs) for (const c of s.channels) w.add(c);
    return w;
  }

  private setStatus(s: LiveStatus): void {
    if (this.status === s) return;
    this.status = s;
    for (const fn of [...this.statusFns]) fn(s);
  }

  private clearTimers(): void {
    if (this.timer !== null) this.o.clearTimeout(this.timer);
    if (this.watchdog !== null) this.o.clearTimeout(this.watchdog);
    this.timer = this.watchdog = null;
  }

  private open(): void {
    this.clearTimers();
    this.setStatus("connecting");
    let s: SocketLike;
    try {
      s = this.o.connect();
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.sock = s;
    this.subscribed = new Set();
    let hello = false;
    s.onmessage = (ev) => {
      if (this.sock !== s) return;
      this.kick();
      let msg: LiveEvent;
      try {
        msg = JSON.parse(String(ev.data)) as LiveEvent;
      } catch {
        return;
      }
      if (msg.type === "hello") {
        hello = true;
        this.attempt = 0;
        this.onHello(msg);
        this.setStatus("open");
        this.sync();
        return;
      }
      this.onFrame(msg);
    };
    s.onclose = () => {
      if (this.sock !== s) return;
      this.sock = null;
      if (!hello) this.o.onFailure?.(this.attempt + 1);
      if (!this.stopped) this.scheduleReconnect();
    };
    s.onerror = () => {
      /* onclose follows */
    };
  }

  private scheduleReconnect(): void {
    this.clearTimers();
    this.setStatus("closed");
    this.attempt += 1;
    const base = Math.min(this.o.maxDelay, this.o.minDelay * 2 ** Math.min(this.attempt - 1, 16));
    const delay = base * (0.5 + this.o.random() / 2);
    this.timer = this.o.setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  /** No frame for 2.5 heartbeats: the connection is dead even if the socket says otherwise. */
  private kick(): void {
    if (this.watchdog !== null) this.o.clearTimeout(this.watchdog);
    this.watchdog = this.o.setTimeout(() => {
      this.watchdog = null;
      this.sock?.close(4001, "heartbeat timeout");
    }, this.heartbeatMs * 2.5);
  }

  private onHello(msg: LiveEvent): void {
    const epoch = typeof msg.epoch === "number" || typeof msg.epoch === "string" ? msg.epoch : null;
    const seq = typeof msg.seq === "number" ? msg.seq : 0;
    if (typeof msg.heartbeat_s === "number" && msg.heartbeat_s > 0) this.heartbeatMs = msg.heartbeat_s * 1000;
    const resumable = this.lastSeq !== null && epoch !== null && epoch === this.epoch && this.lastSeq <= seq;
    const hadState = this.lastSeq !== null;
    this.epoch = epoch;
    if (!resumable) {
      // A new server (or first connect): start from now; whoever held data refetches.
      this.lastSeq = seq;
      if (hadState) this.broadcast({ type: "resync", reason: "restart" });
    }
    this.kick();
  }

  private onFrame(msg: LiveEvent): void {
    switch (msg.type) {
      case "subscribed":
      case "unsubscribed":
      case "pong":
      case "error":
        return;
      case "heartbeat":
        if (typeof msg.seq === "number" && (this.lastSeq === null || msg.seq > this.lastSeq)) this.lastSeq = msg.seq;
        return;
      case "resync":
        if (typeof msg.seq === "number") this.lastSeq = msg.seq;
        this.broadcast({ type: "resync", reason: msg.reason });
        return;
    }
    if (typeof msg.seq === "number") {
      if (this.lastSeq !== null && msg.seq <= this.lastSeq) return; // a replay we already had
      this.lastSeq = msg.seq;
    }
    for (const sub of [...this.subs]) if (msg.channel !== undefined && sub.channels.has(msg.channel)) this.safe(sub, msg);
  }

  private broadcast(ev: LiveEvent): void {
    if (ev.type === "resync") this.resyncs += 1;
    for (const sub of [...this.subs]) this.safe(sub, ev);
  }

  private safe(sub: Sub, ev: LiveEvent): void {
    try {
      sub.fn(ev);
    } catch (e) {
      console.error("live subscriber failed", e);
    }
  }

  /** Bring the server's subscription in line with what the pages want. */
  private sync(): void {
    const s = this.sock;
    if (!s || s.readyState !== OPEN || this.status !== "open") return;
    const want = this.wanted();
    const add = [...want].filter((c) => !this.subscribed.has(c)).sort();
    const drop = [...this.subscribed].filter((c) => !want.has(c)).sort();
    if (add.length) {
      const msg: Record<string, unknown> = { op: "subscribe", channels: add };
      if (this.lastSeq !== null) msg.after = this.lastSeq;
      s.send(JSON.stringify(msg));
      for (const c of add) this.subscribed.add(c);
    }
    if (drop.length) {
      s.send(JSON.stringify({ op: "unsubscribe", channels: drop }));
      for (const c of drop) this.subscribed.delete(c);
    }
  }
}
