import { describe, expect, it } from "vitest";
import { decodeMsgs, GraphHttpModel, GridHttpModel, type GridMeta, idsOfMask, type Transport } from "../src/dashboard/http-model";
import { decodeGraphMsg } from "../src/graph-protocol";
import { decodeGridMsg } from "../src/grid-protocol";

/** Encode messages as the server does (views_wire.rs). */
function encode(msgs: Array<{ content: unknown; buffers: Uint8Array[] }>): ArrayBuffer {
  const head = new TextEncoder().encode(JSON.stringify(msgs.map((m) => ({ content: m.content, buffers: m.buffers.map((b) => b.length) }))));
  const pad = (n: number) => Math.ceil(n / 8) * 8;
  let size = pad(8 + head.length);
  for (const m of msgs) for (const b of m.buffers) size = pad(size + b.length);
  const out = new Uint8Array(size);
  out.set([78, 71, 77, 49]);
  new DataView(out.buffer).setUint32(4, head.length, true);
  out.set(head, 8);
  let at = pad(8 + head.length);
  for (const m of msgs) {
    for (const b of m.buffers) {
      out.set(b, at);
      at = pad(at + b.length);
    }
  }
  return out.buffer;
}

class HttpError extends Error {
  constructor(public status: number) {
    super(`HTTP ${status}`);
  }
}

/** An in-memory grid "server": n points, 8 spaces, point i at (i, i) in every space. */
function gridServer(n: number, stride: number) {
  const st = { version: 1, n, log: [] as string[] };
  const meta = (): GridMeta => ({
    // (the colour is echoed from the request)
    n: st.n,
    version: st.version,
    spaces: ["physical", "sensory", "motor", "emotional", "cognitive", "social", "temporal", "abstract"],
    space: "cognitive",
    axes: [0, 1],
    view3d: false,
    color: "entity",
    color_options: ["entity"],
    legend: { kind: "category", items: [] },
    bounds: [],
    stride,
    placed: [st.n, 0, 0, 0, 0, 0, 0, 0],
  });
  const q = (p: string) => new URLSearchParams(p.split("?")[1] ?? "");
  const t: Transport = {
    async json<T>(_m: string, path: string): Promise<T> {
      st.log.push(path);
      if (path.startsWith("/views/grid?")) return { ...meta(), color: q(path).get("color") ?? "entity" } as T;
      if (path.startsWith("/views/grid/hover"))
        return {
          type: "hover",
          index: Number(q(path).get("index")),
          id: 100,
          label: "x",
          entity: "concept",
          coords: Array(8).fill(null),
          neighbours: [],
        } as T;
      throw new HttpError(404);
    },
    async binary(_m: string, path: string): Promise<ArrayBuffer> {
      st.log.push(path);
      const p = q(path);
      if (Number(p.get("version")) !== st.version) throw new HttpError(409);
      if (path.startsWith("/views/grid/coords")) {
        const r = Number(p.get("chunk"));
        const pts: number[] = [];
        for (let i = r; i < st.n; i += stride) pts.push(i, i);
        const b = Uint8Array.from(pts);
        return encode([
          { content: { type: "coords", version: st.version, chunk: r, stride }, buffers: Array.from({ length: 8 }, () => b) },
        ]);
      }
      if (path.startsWith("/views/grid/labels")) {
        return encode([
          {
            content: { type: "labels", version: st.version, scope: "global", count: 1 },
            buffers: [
              new Uint8Array(new Uint32Array([0]).buffer),
              new Uint8Array(new Uint32Array([0]).buffer),
              new Uint8Array(new Uint32Array([0, 1]).buffer),
              Uint8Array.from([97]),
            ],
          },
        ]);
      }
      if (path.startsWith("/views/grid/ids")) return new Uint32Array(Array.from({ length: st.n }, (_, i) => 1000 + i)).buffer;
      throw new HttpError(404);
    },
  };
  return { st, t };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await tick();
  expect(cond()).toBe(true);
}

describe("decodeMsgs", () => {
  it("round-trips messages and aligns buffers", () => {
    const body = encode([
      { content: { type: "a" }, buffers: [Uint8Array.from([1, 2, 3]), new Uint8Array(0)] },
      { content: { type: "b" }, buffers: [Uint8Array.from([9])] },
    ]);
    const m = decodeMsgs(body);
    expect(m.map((x) => x.content.type)).toEqual(["a", "b"]);
    expect([...m[0].buffers[0]]).toEqual([1, 2, 3]);
    expect(m[0].buffers[1].length).toBe(0);
    expect(m[1].buffers[0].byteOffset % 8).toBe(0);
  });
  it("refuses a bad magic, a truncated body and trailing bytes", () => {
    const body = encode([{ content: { type: "a" }, buffers: [Uint8Array.from([1, 2, 3])] }]);
    const bad = new Uint8Array(body.slice(0));
    bad[0] = 0;
    expect(() => decodeMsgs(bad.buffer)).toThrow(/magic/);
    expect(() => decodeMsgs(body.slice(0, body.byteLength - 8))).toThrow(/passes the body's end/);
    const long = new Uint8Array(body.byteLength + 8);
    long.set(new Uint8Array(body));
    expect(() => decodeMsgs(long.buffer)).toThrow(/trailing/);
  });
});

describe("GridHttpModel", () => {
  it("loads the meta, streams every chunk in order on ready, then the labels", async () => {
    const { t } = gridServer(10, 3);
    const m = new GridHttpModel(t);
    await m.load();
    expect(m.get("n")).toBe(10);
    expect(m.get("stride")).toBe(3);
    const got: Array<{ type: string; chunk?: number }> = [];
    m.on("msg:custom", (c: unknown, b: unknown) => {
      const msg = decodeGridMsg(c, b as unknown[]);
      got.push({ type: msg.type, chunk: "chunk" in msg ? msg.chunk : undefined });
      if (msg.type === "coords") expect(msg.spaces[0].length).toBe(2 * Math.ceil((10 - msg.chunk) / 3));
    });
    m.send({ type: "ready" });
    await until(() => got.length === 4);
    expect(got).toEqual([
      { type: "coords", chunk: 0 },
      { type: "coords", chunk: 1 },
      { type: "coords", chunk: 2 },
      { type: "labels", chunk: undefined },
    ]);
  });

  it("a stale version (409) refetches the meta and streams the new data", async () => {
    const { st, t } = gridServer(4, 1);
    const m = new GridHttpModel(t);
    await m.load();
    const versions: number[] = [];
    m.on("change:version", () => versions.push(Number(m.get("version"))));
    const chunks: number[] = [];
    m.on("msg:custom", (c: unknown) => {
      const x = c as { type: string; version: number };
      if (x.type === "coords") chunks.push(x.version);
    });
    st.version = 2;
    st.n = 6;
    m.send({ type: "ready" });
    await until(() => chunks.length === 1);
    expect(versions).toEqual([2]);
    expect(chunks).toEqual([2]);
    expect(m.get("n")).toBe(6);
    expect(await m.refresh()).toBe(false);
  });

  it("answers hover with the server's card and maps the selection to ids", async () => {
    const { t } = gridServer(12, 1);
    const m = new GridHttpModel(t);
    await m.load();
    const cards: unknown[] = [];
    m.on("msg:custom", (c: unknown, b: unknown) => {
      const msg = decodeGridMsg(c, b as unknown[]);
      if (msg.type === "hover") cards.push(msg.index);
    });
    m.send({ type: "hover", index: 5 });
    await until(() => cards.length === 1);
    expect(cards).toEqual([5]);
    m.set("selection", new DataView(Uint8Array.from([0b00000101, 0b00001000]).buffer));
    m.save_changes();
    expect(await m.selectedIds()).toEqual([1000, 1002, 1011]);
  });

  it("a colour change fetches the meta of that colour and streams its version", async () => {
    const { st, t } = gridServer(2, 1);
    const m = new GridHttpModel(t);
    await m.load();
    m.send({ type: "ready" });
    await until(() => st.log.some((p) => p.startsWith("/views/grid/labels")));
    st.version = 33; // the server's version of the weight colouring
    m.set("color", "weight");
    m.save_changes();
    await until(() => m.get("version") === 33);
    expect(st.log).toContain("/views/grid?color=weight");
    await until(() => st.log.includes("/views/grid/coords?version=33&chunk=0"));
    expect(m.get("color")).toBe("weight");
  });
});

describe("idsOfMask", () => {
  it("reads bits LSB first and stops at the id count", () => {
    expect(idsOfMask(Uint8Array.from([0xff]), Uint32Array.from([7, 8, 9]))).toEqual([7, 8, 9]);
    expect(idsOfMask(Uint8Array.from([0x80, 0x01]), Uint32Array.from(Array.from({ length: 9 }, (_, i) => i)))).toEqual([7, 8]);
  });
});

/** A graph "server": node ids 1..n of a path, expanding adds the next id. */
function graphServer() {
  const posts: Array<Record<string, unknown>> = [];
  const answer = (ids: number[], version: number) => {
    const n = ids.length;
    const ends: number[] = [];
    for (let i = 0; i + 1 < n; i++) ends.push(i, i + 1);
    return encode([
      { content: { type: "state", version, n_nodes: n, n_edges: n - 1, legend: [{ name: "semantic", color: 0 }] }, buffers: [] },
      {
        content: { type: "nodes", version, n },
        buffers: [
          new Uint8Array(new Float32Array(ids.flatMap((i) => [i, -i])).buffer),
          new Uint8Array(new Uint32Array(ids).buffer),
          new Uint8Array(n),
          new Uint8Array(n).fill(9),
        ],
      },
      {
        content: { type: "edges", version, offset: 0, count: n - 1 },
        buffers: [new Uint8Array(new Uint32Array(ends).buffer), new Uint8Array(n - 1), new Uint8Array(n - 1).fill(200)],
      },
    ]);
  };
  const t: Transport = {
    async json<T>(_m: string, path: string): Promise<T> {
      return { id: Number(path.split("id=")[1]), label: "node", neighbours: [] } as T;
    },
    async binary(_m: string, _path: string, body?: unknown): Promise<ArrayBuffer> {
      const b = body as Record<string, unknown>;
      posts.push(b);
      const ids = Array.isArray(b.ids) ? (b.ids as number[]) : [1, 2];
      const grown = Array.isArray(b.expand) && b.expand.length ? [...ids, Math.max(...ids) + 1] : ids;
      return answer(grown, Number(b.version));
    },
  };
  return { t, posts };
}

describe("GraphHttpModel", () => {
  it("delivers the nodes and edges on ready, expands by index and adds the degree to hover", async () => {
    const { t, posts } = graphServer();
    const m = new GraphHttpModel(t, { token: 1 }, { depth: 2 });
    await m.load();
    expect(posts[0]).toMatchObject({ token: 1, depth: 2, width_by: "strength", version: 1 });
    expect(m.get("n_nodes")).toBe(2);
    const seen: string[] = [];
    const hovers: Array<{ degree: number; id: number }> = [];
    m.on("msg:custom", (c: unknown, b: unknown) => {
      const msg = decodeGraphMsg(c, b as unknown[]);
      seen.push(`${msg.type}@${"version" in msg ? msg.version : ""}`);
      if (msg.type === "hover") hovers.push({ degree: msg.degree, id: msg.id });
    });
    m.send({ type: "ready" });
    expect(seen).toEqual(["reset@1", "nodes@1", "edges@1"]);
    m.send({ type: "expand", index: 1 });
    await until(() => seen.length === 6);
    expect(posts[1]).toMatchObject({ ids: [1, 2], expand: [2], version: 2 });
    expect(m.get("version")).toBe(2);
    expect([...m.ids()]).toEqual([1, 2, 3]);
    m.send({ type: "hover", index: 1 });
    await until(() => hovers.length === 1);
    expect(hovers[0]).toEqual({ degree: 2, id: 2 });
  });

  it("reloads on a width change and drops selected ids no longer shown", async () => {
    const { t, posts } = graphServer();
    const m = new GraphHttpModel(t, { label: "a" });
    await m.load();
    m.send({ type: "ready" });
    m.set("selected", [2, 99]);
    m.set("width_by", "confidence");
    m.save_changes();
    await until(() => posts.length === 2);
    await until(() => m.get("version") === 2);
    expect(posts[1]).toMatchObject({ width_by: "confidence", ids: [1, 2] });
    expect(m.get("selected")).toEqual([2]);
  });
});

describe("search and focus", () => {
  it("grid: completions echo the request's seq; focus sets the focused trait with a new seq", async () => {
    const { t } = gridServer(5, 1);
    const calls: string[] = [];
    const t2: Transport = {
      binary: t.binary,
      async json<T>(m: "GET" | "POST", path: string): Promise<T> {
        calls.push(path);
        if (path.startsWith("/views/complete")) return { items: [{ label: "apple", id: 3 }] } as T;
        if (path.startsWith("/views/grid/focus"))
          return { version: 1, ids: [3], indices: [2], near_ids: [], near: [], label: "apple" } as T;
        return t.json<T>(m, path);
      },
    };
    const m = new GridHttpModel(t2);
    await m.load();
    const got: unknown[] = [];
    m.on("msg:custom", (c: unknown) => got.push(c));
    m.send({ type: "complete", prefix: " Ap ", seq: 4, limit: 10 });
    await until(() => got.length === 1);
    expect(got[0]).toEqual({ type: "completions", seq: 4, prefix: "Ap", items: [{ label: "apple", id: 3 }] });
    expect(calls).toContain("/views/complete?prefix=Ap&limit=10");
    m.send({ type: "focus", id: 3 });
    await until(() => Boolean((m.get("focused") as { seq?: number }).seq));
    expect(m.get("focused")).toMatchObject({ seq: 1, version: 1, indices: [2], label: "apple" });
    m.send({ type: "focus", id: null });
    expect(m.get("focused")).toEqual({});
  });

  it("graph: focusing a token not shown expands to it and marks its neighbours", async () => {
    const { t, posts } = graphServer();
    const m = new GraphHttpModel(t, { token: 1 });
    await m.load();
    m.send({ type: "ready" });
    m.send({ type: "focus", id: 2 });
    await until(() => Boolean((m.get("focused") as { seq?: number }).seq));
    expect(posts.length).toBe(1); // 2 is shown: no reload
    expect(m.get("focused")).toMatchObject({ ids: [2], indices: [1], near: [0], near_ids: [1] });
    m.send({ type: "focus", id: 3 });
    await until(() => (m.get("focused") as { ids?: number[] }).ids?.[0] === 3);
    expect(posts[1]).toMatchObject({ ids: [1, 2], expand: [3] });
    expect(m.get("focused")).toMatchObject({ indices: [2], near: [1] });
  });
});
