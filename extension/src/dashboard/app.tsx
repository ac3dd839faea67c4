// The shell: session check, login screen, header with nav / live status / theme / logout,
// and the host that mounts the current page with its PageCtx.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, apiBinary, onUnauthorized } from "./api";
import type { Live, LiveStatus } from "./live";
import { type Page, type PageCtx, pages } from "./pages/index";
import { LoginScreen } from "./pages/login";
import { formatHash, parseHash, resolvePage } from "./router";
import { loadSession, logout, type Session } from "./session";
import type { ThemeCtl } from "./theme";

interface Toast {
  id: number;
  msg: string;
  kind: "info" | "error";
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

export function App(props: { theme: ThemeCtl; live: Live }) {
  const { theme, live } = props;
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [fatal, setFatal] = useState<string | null>(null);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [dark, setDark] = useState(theme.current() === "dark");
  const [liveStatus, setLiveStatus] = useState<LiveStatus>(live.status);
  const hash = useHash();
  // One Route object per hash: the page's ctx (and so the page) stays put across re-renders.
  const route = useMemo(() => parseHash(hash), [hash]);

  const toast = useCallback((msg: string, kind: "info" | "error" = "info") => {
    const id = Date.now() + Math.random();
    setToasts((t) => [...t.slice(-4), { id, msg, kind }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), kind === "error" ? 8000 : 4000);
  }, []);

  const check = useCallback(() => {
    loadSession().then(setSession, (e) => setFatal(`the server did not answer: ${(e as Error).message}`));
  }, []);

  useEffect(() => {
    check();
    const offAuth = onUnauthorized(() => setSession(null));
    const offTheme = theme.on((t) => setDark(t === "dark"));
    const offLive = live.onStatus(setLiveStatus);
    // The socket keeps failing: if the session ended, show the login (a down server is not that).
    const onFail = () =>
      loadSession().then(
        (s) => s === null && setSession(null),
        () => undefined,
      );
    addEventListener("ng-live-failure", onFail);
    return () => {
      offAuth();
      offTheme();
      offLive();
      removeEventListener("ng-live-failure", onFail);
    };
  }, [check, theme, live]);

  useEffect(() => {
    if (session === null) live.stop();
  }, [session, live]);

  if (fatal) {
    return (
      <main class="center">
        <div class="error" role="alert">
          {fatal}
        </div>
        <button type="button" onClick={() => location.reload()}>
          Retry
        </button>
      </main>
    );
  }
  if (session === undefined) return <main class="center muted">Loading…</main>;
  if (session === null) return <LoginScreen onLogin={setSession} />;

  const page = resolvePage(pages, route.page, session.isAdmin);
  const doLogout = async () => {
    live.stop();
    await logout().catch(() => undefined);
    setSession(null);
    history.replaceState(null, "", "/");
  };

  return (
    <div class="shell">
      <button type="button" class="skip" onClick={() => document.getElementById("main")?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">NeuroGraph</span>
        <nav aria-label="Pages">
          {pages
            .filter((p) => session.isAdmin || !p.adminOnly)
            .map((p) => (
              <a key={p.id} href={formatHash(p.id)} aria-current={page?.id === p.id ? "page" : undefined} data-page-link={p.id}>
                {p.title}
              </a>
            ))}
        </nav>
        <span class="spacer" />
        <span class={`live live-${liveStatus}`} title={`live updates: ${liveStatus}`} data-live={liveStatus}>
          <span class="dot" aria-hidden="true" />
          <span class="live-text">{liveStatus === "open" ? "live" : liveStatus}</span>
        </span>
        <button
          type="button"
          class="ghost"
          onClick={() => theme.toggle()}
          aria-label={`Switch to ${dark ? "light" : "dark"} theme`}
          data-theme-toggle
        >
          {dark ? "☀" : "☾"}
        </button>
        <span class="who" title={`role: ${session.role}`}>
          {session.user} <span class={`role role-${session.role}`}>{session.role}</span>
        </span>
        <button type="button" class="ghost" onClick={doLogout} data-logout>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page ? (
          <PageHost
            key={`${page.id}?${route.params}`}
            page={page}
            params={route.params}
            session={session}
            live={live}
            theme={theme}
            toast={toast}
          />
        ) : (
          <p class="muted">No page is available.</p>
        )}
      </main>
      <div class="toasts" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} class={`toast toast-${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
            {t.msg}
          </div>
        ))}
      </div>
    </div>
  );
}

function PageHost(props: { page: Page; params: URLSearchParams; session: Session; live: Live; theme: ThemeCtl; toast: PageCtx["toast"] }) {
  const ref = useRef<HTMLDivElement>(null);
  const { page, params, session, live, theme, toast } = props;
  const ctx = useMemo<PageCtx>(
    () => ({
      api,
      apiBinary,
      live,
      session,
      params,
      navigate: (id, p) => {
        location.hash = formatHash(id, p);
      },
      theme: () => theme.current(),
      onTheme: (fn) => theme.on(fn),
      toast,
    }),
    [live, session, params, theme, toast],
  );
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    document.title = `${page.title} · NeuroGraph`;
    let dispose: (() => void) | undefined;
    try {
      dispose = page.mount(el, ctx);
    } catch (e) {
      console.error(`page ${page.id} failed to mount`, e);
      el.textContent = `This page failed to load: ${(e as Error).message}`;
    }
    return () => {
      try {
        dispose?.();
      } finally {
        el.replaceChildren();
      }
    };
  }, [page, ctx]);
  return <div ref={ref} class="page" data-page={page.id} />;
}
