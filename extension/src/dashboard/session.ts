// Who is logged in: filled by the shell from `GET /auth/me`.
import { API_BASE, api } from "./api";

export type Role = "readonly" | "user" | "admin";

export interface Session {
  user: string;
  role: Role;
  /** Not read-only: write controls (`data-write`) are shown. */
  canWrite: boolean;
  /** Admin: admin controls (`data-admin`) and admin pages are shown. */
  isAdmin: boolean;
}

/** The session for a principal as `/auth/me` describes it. */
export function makeSession(user: string, role: string): Session {
  const r: Role = role === "admin" || role === "user" ? role : "readonly";
  return { user, role: r, canWrite: r !== "readonly", isAdmin: r === "admin" };
}

/** The current session, or null when the browser holds no valid session cookie (asked of
 * `GET /auth/session`, which answers 200 either way: no failed request in the console). */
export async function loadSession(): Promise<Session | null> {
  const { data } = await api<{ authenticated: boolean; me: { name: string; role: string } | null }>("GET", "/auth/session");
  return data.authenticated && data.me ? makeSession(data.me.name, data.me.role) : null;
}

/** Log in with a name and password (the server sets the HttpOnly session cookie). */
export async function passwordLogin(name: string, password: string): Promise<Session> {
  const { data } = await api<{ name: string; role: string }>("POST", "/auth/session", { body: { name, password } });
  return makeSession(data.name, data.role);
}

/** Log in with a one-time token (the part after `?token=` of a login link). */
export async function linkLogin(token: string): Promise<void> {
  await api("POST", "/auth/link", { body: { token } });
}

/** Log out: the server revokes the session and clears the cookie. */
export async function logout(): Promise<void> {
  await fetch(`${API_BASE}/auth/logout`, { method: "POST", credentials: "same-origin" });
}
