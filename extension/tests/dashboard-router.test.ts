import { describe, expect, it } from "vitest";
import { formatHash, parseHash, resolvePage } from "../src/dashboard/router";

describe("dashboard router", () => {
  it("parses page and params", () => {
    const r = parseHash("#/tokens?selection=1&sort=label");
    expect(r.page).toBe("tokens");
    expect(r.params.get("selection")).toBe("1");
    expect(r.params.get("sort")).toBe("label");
  });

  it("falls back for empty or bad page ids", () => {
    expect(parseHash("").page).toBe("overview");
    expect(parseHash("#/").page).toBe("overview");
    expect(parseHash("#/<script>").page).toBe("overview");
    expect(parseHash("#/UPPER").page).toBe("overview");
    expect(parseHash("#/x", "logs").page).toBe("x");
  });

  it("formats deterministically and round-trips", () => {
    expect(formatHash("grid")).toBe("#/grid");
    const h = formatHash("tokens", { z: "1", a: "x y&z" });
    expect(h).toBe("#/tokens?a=x+y%26z&z=1");
    const back = parseHash(h);
    expect(back.page).toBe("tokens");
    expect(back.params.get("a")).toBe("x y&z");
    expect(formatHash("tokens", new URLSearchParams("z=1&a=2"))).toBe("#/tokens?a=2&z=1");
  });

  it("resolves to an allowed registered page", () => {
    const pages = [{ id: "overview" }, { id: "logs" }, { id: "admin", adminOnly: true }];
    expect(resolvePage(pages, "logs", false)?.id).toBe("logs");
    expect(resolvePage(pages, "admin", false)?.id).toBe("overview");
    expect(resolvePage(pages, "admin", true)?.id).toBe("admin");
    expect(resolvePage(pages, "nope", true)?.id).toBe("overview");
    expect(resolvePage([], "nope", true)).toBeNull();
  });
});
