import { describe, expect, it } from "vitest";
import { Live, type LiveEvent, type SocketLike } from "../src/dashboard/live";

class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: Record<string, unknown>[] = [];
  closed = false;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    this.onclose?.({});
  }
  /** The server side. */
  frame(msg: Record<string, unknown>): void {
    this.readyState = 1;
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

/** A Live over fake sockets and a manual clock. */
function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let now = 0;
  let nextId = 1;
  const failures: number[] = [];
  const live = new Live({
    connect: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    random: () => 1,
    minDelay: 100,
    maxDelay: 1000,
    onFailure: (n) => failures.push(n),
  });
  const advance = (ms: number) => {
    now += ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > now) break;
      timers.shift();
      t.fn();
    }
  };
  return { live, sockets, advance, failures, last: () => sockets[sockets.length - 1] };
}

describe("dashboard live", () => {
  it("subscribes after hello and delivers events of its channels only", () => {
    const h = harness();
    const got: LiveEvent[] = [];
    const statuses: string[] = [];
    h.live.onStatus((s) => statuses.push(s));
    h.live.subscribe(["tokens"], (e) => got.push(e));
    expect(h.sockets.length).toBe(1);
    expect(h.last().sent).toEqual([]);
    h.last().frame({ type: "hello", epoch: 7, seq: 10, heartbeat_s: 15 });
    expect(h.last().sent).toEqual([{ op: "subscribe", channels: ["tokens"], after: 10 }]);
    expect(statuses).toEqual(["closed", "connecting", "open"]);
    h.last().frame({ type: "subscribed", channels: ["tokens"], seq: 10 });
    h.last().frame({ type: "token.created", channel: "tokens", seq: 11, data: { id: 1 } });
    h.last().frame({ type: "metrics", channel: "metrics", seq: 12, data: {} });
    expect(got.map((e) => e.seq)).toEqual([11]);
    expect(h.live.lastSeq).toBe(12);
  });

  it("adds and drops server channels as pages come and go", () => {
    const h = harness();
    const off1 = h.live.subscribe(["tokens", "metrics"], () => undefined);
    h.last().frame({ type: "hello", epoch: 1, seq: 0 });
    const off2 = h.live.subscribe(["metrics", "cdna"], () => undefined);
    off1();
    off2();
    expect(h.last().sent).toEqual([
      { op: "subscribe", channels: ["metrics", "tokens"], after: 0 },
      { op: "subscribe", channels: ["cdna"], after: 0 },
      { op: "unsubscribe", channels: ["tokens"] },
      { op: "unsubscribe", channels: ["cdna", "metrics"] },
    ]);
  });

  it("reconnects with backoff and resumes after the last seq in the same epoch", () => {
    const h = harness();
    const got: LiveEvent[] = [];
    h.live.subscribe(["tokens"], (e) => got.push(e));
    h.last().frame({ type: "hello", epoch: "e5", seq: 3 });
    h.last().frame({ type: "token.created", channel: "tokens", seq: 4 });
    h.last().frame({ type: "heartbeat", seq: 9 });
    h.last().close();
    expect(h.live.status).toBe("closed");
    expect(h.sockets.length).toBe(1);
    h.advance(99);
    expect(h.sockets.length).toBe(1);
    h.advance(1);
    expect(h.sockets.length).toBe(2);
    h.last().frame({ type: "hello", epoch: "e5", seq: 12 });
    expect(h.last().sent).toEqual([{ op: "subscribe", channels: ["tokens"], after: 9 }]);
    h.last().frame({ type: "token.created", channel: "tokens", seq: 9 }); // already seen: dropped
    h.last().frame({ type: "token.created", channel: "tokens", seq: 10 });
    expect(got.map((e) => [e.type, e.seq])).toEqual([
      ["token.created", 4],
      ["token.created", 10],
    ]);
  });

  it("tells every subscriber to resync after a server restart (new epoch) or a gap", () => {
    const h = harness();
    const a: LiveEvent[] = [];
    const b: LiveEvent[] = [];
    h.live.subscribe(["tokens"], (e) => a.push(e));
    h.live.subscribe(["cdna"], (e) => b.push(e));
    h.last().frame({ type: "hello", epoch: "b09a69f8f2dc7612", seq: 50 });
    expect(a).toEqual([]);
    h.last().close();
    h.advance(100);
    h.last().frame({ type: "hello", epoch: "0c1d2e3f40516273", seq: 0 });
    expect(a.map((e) => e.type)).toEqual(["resync"]);
    expect(b.map((e) => e.type)).toEqual(["resync"]);
    expect(h.last().sent).toEqual([{ op: "subscribe", channels: ["cdna", "tokens"], after: 0 }]);
    h.last().frame({ type: "resync", reason: "gap", seq: 20 });
    expect(a.map((e) => e.type)).toEqual(["resync", "resync"]);
    expect(h.live.lastSeq).toBe(20);
  });

  it("backs off exponentially up to the cap and reports failed attempts", () => {
    const h = harness();
    h.live.subscribe(["tokens"], () => undefined);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.last().close();
      const n = h.sockets.length;
      let waited = 0;
      while (h.sockets.length === n) {
        h.advance(10);
        waited += 10;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(h.failures).toEqual([1, 2, 3, 4, 5, 6]);
    h.last().frame({ type: "hello", epoch: 1, seq: 0 });
    h.last().close();
    h.advance(100);
    expect(h.sockets.length).toBe(8);
  });

  it("closes a silent connection after 2.5 heartbeats and stops for good on stop()", () => {
    const h = harness();
    h.live.subscribe(["tokens"], () => undefined);
    h.last().frame({ type: "hello", epoch: 1, seq: 0, heartbeat_s: 2 });
    h.advance(4999);
    expect(h.last().closed).toBe(false);
    h.advance(1);
    expect(h.sockets[0].closed).toBe(true);
    h.advance(100);
    expect(h.sockets.length).toBe(2);
    h.live.stop();
    expect(h.live.status).toBe("closed");
    h.advance(100_000);
    expect(h.sockets.length).toBe(2);
  });

  it("keeps going when a subscriber throws", () => {
    const h = harness();
    const got: number[] = [];
    const orig = console.error;
    console.error = () => undefined;
    try {
      h.live.subscribe(["tokens"], () => {
        throw new Error("bad page");
      });
      h.live.subscribe(["tokens"], (e) => got.push(e.seq as number));
      h.last().frame({ type: "hello", epoch: 1, seq: 0 });
      h.last().frame({ type: "token.created", channel: "tokens", seq: 1 });
    } finally {
      console.error = orig;
    }
    expect(got).toEqual([1]);
  });
});
