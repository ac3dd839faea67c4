import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, apiBinary, onUnauthorized } from "../src/dashboard/api";

interface Call {
  url: string;
  init: RequestInit;
}

function serve(respond: (c: Call) => Response): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
    const c = { url, init };
    calls.push(c);
    return respond(c);
  });
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe("dashboard api", () => {
  it("sends JSON with If-Match and returns data and etag", async () => {
    const calls = serve(
      () => new Response(JSON.stringify({ ok: 1 }), { status: 200, headers: { "Content-Type": "application/json", ETag: '"r7"' } }),
    );
    const r = await api<{ ok: number }>("PATCH", "/cdna", { body: { a: 1 }, ifMatch: '"r6"' });
    expect(r.data).toEqual({ ok: 1 });
    expect(r.etag).toBe('"r7"');
    expect(r.status).toBe(200);
    expect(calls[0].url).toBe("/api/v1/cdna");
    expect(calls[0].init.method).toBe("PATCH");
    expect(calls[0].init.body).toBe('{"a":1}');
    const h = calls[0].init.headers as Record<string, string>;
    expect(h["If-Match"]).toBe('"r6"');
    expect(h["Content-Type"]).toBe("application/json");
    expect(calls[0].init.credentials).toBe("same-origin");
  });

  it("gives null for 204 and adds the leading slash", async () => {
    const calls = serve(() => new Response(null, { status: 204 }));
    const r = await api("DELETE", "tokens/3");
    expect(r.data).toBeNull();
    expect(calls[0].url).toBe("/api/v1/tokens/3");
  });

  it("throws ApiError from problem+json", async () => {
    serve(
      () =>
        new Response(JSON.stringify({ type: "https://x/conflict", title: "Conflict", status: 412, detail: "changed meanwhile" }), {
          status: 412,
          headers: { "Content-Type": "application/problem+json" },
        }),
    );
    const e = await api("PUT", "/cdna/scales", { body: {} }).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(412);
    expect(e.type).toBe("https://x/conflict");
    expect(e.title).toBe("Conflict");
    expect(e.detail).toBe("changed meanwhile");
    expect(e.problem.status).toBe(412);
  });

  it("survives a non-JSON error body and tells 401 listeners", async () => {
    serve(() => new Response("<html>oops</html>", { status: 401 }));
    const seen: number[] = [];
    const off = onUnauthorized((e) => seen.push(e.status));
    const e = await api("GET", "/status").catch((x) => x);
    off();
    expect(e).toBeInstanceOf(ApiError);
    expect(e.detail).toBe("HTTP 401");
    expect(seen).toEqual([401]);
    await api("GET", "/status").catch(() => undefined);
    expect(seen).toEqual([401]);
  });

  it("turns a network failure into status 0 and refuses absolute URLs", async () => {
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    const e = await api("GET", "/status").catch((x) => x);
    expect(e.status).toBe(0);
    await expect(api("GET", "http://evil.example/x")).rejects.toThrow(/relative/);
  });

  it("reads binary bodies and sends raw bodies unchanged", async () => {
    const calls = serve(
      () => new Response(new Uint8Array([1, 2, 3]), { status: 200, headers: { "Content-Type": "application/octet-stream" } }),
    );
    const buf = await apiBinary("/grid/chunk?i=0", { method: "POST", body: new Uint8Array([9]), headers: { "X-A": "1" } });
    expect([...new Uint8Array(buf)]).toEqual([1, 2, 3]);
    expect(calls[0].init.body).toBeInstanceOf(Uint8Array);
    const h = calls[0].init.headers as Record<string, string>;
    expect(h["x-a"]).toBe("1");
    expect(h.Accept).toBe("application/octet-stream");
    expect(h["Content-Type"]).toBeUndefined();
  });
});
