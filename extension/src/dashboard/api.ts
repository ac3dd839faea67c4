// HTTP client of the dashboard: same origin, cookie credentials, problem+json errors.

/** Base of every API path. */
export const API_BASE = "/api/v1";

/** An RFC 9457 problem from the API (or a network failure, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly problem: Record<string, unknown>;

  constructor(status: number, problem: Record<string, unknown>) {
    const str = (k: string, d: string): string => (typeof problem[k] === "string" ? (problem[k] as string) : d);
    const detail = str("detail", str("title", `HTTP ${status}`));
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.type = str("type", "about:blank");
    this.title = str("title", `HTTP ${status}`);
    this.detail = detail;
    this.problem = problem;
  }
}

export interface ApiOptions {
  /** JSON-encoded unless it is a Blob, ArrayBuffer, typed array, FormData or string. */
  body?: unknown;
  /** Sent as `If-Match` (an ETag from an earlier answer). */
  ifMatch?: string;
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  data: T;
  etag: string | null;
  status: number;
  headers: Headers;
}

type Unauthorized = (e: ApiError) => void;
const unauthorizedHandlers = new Set<Unauthorized>();

/** Called on every 401 (the shell shows the login screen); returns an unsubscribe. */
export function onUnauthorized(fn: Unauthorized): () => void {
  unauthorizedHandlers.add(fn);
  return () => unauthorizedHandlers.delete(fn);
}

function url(path: string): string {
  if (/^[a-z]+:/i.test(path) || path.startsWith("//")) throw new Error(`api paths are relative to ${API_BASE}: ${path}`);
  return API_BASE + (path.startsWith("/") ? path : `/${path}`);
}

function isRaw(b: unknown): b is BodyInit {
  return (
    typeof b === "string" ||
    (typeof Blob !== "undefined" && b instanceof Blob) ||
    (typeof FormData !== "undefined" && b instanceof FormData) ||
    b instanceof ArrayBuffer ||
    ArrayBuffer.isView(b)
  );
}

async function failure(res: Response): Promise<ApiError> {
  let problem: Record<string, unknown> = {};
  try {
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === "object") problem = parsed as Record<string, unknown>;
  } catch {
    problem = {};
  }
  const e = new ApiError(res.status, problem);
  if (res.status === 401) for (const fn of unauthorizedHandlers) fn(e);
  return e;
}

async function send(method: string, path: string, opts: ApiOptions, accept: string): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept, ...(opts.headers ?? {}) };
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    if (isRaw(opts.body)) body = opts.body as BodyInit;
    else {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] = "application/json";
    }
  }
  if (opts.ifMatch) headers["If-Match"] = opts.ifMatch;
  let res: Response;
  try {
    res = await fetch(url(path), { method, headers, body, credentials: "same-origin", signal: opts.signal, cache: "no-store" });
  } catch (e) {
    if ((e as { name?: string })?.name === "AbortError") throw e;
    throw new ApiError(0, { title: "Network error", detail: `the server did not answer (${String((e as Error)?.message ?? e)})` });
  }
  if (!res.ok) throw await failure(res);
  return res;
}

/** Call the API: `api("GET", "/tokens?limit=10")`. JSON answers are parsed, 204 gives null. */
export async function api<T = unknown>(method: string, path: string, opts: ApiOptions = {}): Promise<ApiResponse<T>> {
  const res = await send(method, path, opts, "application/json");
  let data: unknown = null;
  if (res.status !== 204) {
    const ct = res.headers.get("Content-Type") ?? "";
    const text = await res.text();
    data = ct.includes("json") && text ? JSON.parse(text) : text;
  }
  return { data: data as T, etag: res.headers.get("ETag"), status: res.status, headers: res.headers };
}

/** A binary route's body (coords chunks, buffers). `init.method` defaults to GET. */
export async function apiBinary(path: string, init: RequestInit = {}): Promise<ArrayBuffer> {
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => {
    headers[k] = v;
  });
  const res = await send(
    init.method ?? "GET",
    path,
    { body: init.body ?? undefined, signal: init.signal ?? undefined, headers },
    "application/octet-stream",
  );
  return res.arrayBuffer();
}
