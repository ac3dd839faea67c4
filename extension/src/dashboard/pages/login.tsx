// The login screen: user + password, or a one-time login link (printed by `ng.serve`, the CLI
// or `srv.login_url`), exchanged for the HttpOnly session cookie.
import { useState } from "preact/hooks";
import { linkLogin, loadSession, passwordLogin, type Session } from "../session";
import { ErrorBox } from "../ui";

/** The token of a pasted link (`.../login?token=ngl_...`) or a bare token. */
export function tokenOf(text: string): string {
  const t = text.trim();
  const m = t.match(/[?&]token=([^&#\s]+)/);
  return m ? decodeURIComponent(m[1]) : t;
}

export function LoginScreen(props: { onLogin: (s: Session) => void }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [link, setLink] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const run = async (fn: () => Promise<Session | null>) => {
    setBusy(true);
    setError(null);
    try {
      const s = await fn();
      if (s) props.onLogin(s);
      else setError(new Error("the login did not start a session"));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="center login" data-page="login">
      <h1>NeuroGraph</h1>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          run(() => passwordLogin(name.trim(), password));
        }}
      >
        <h2>Log in</h2>
        <label>
          User
          <input name="user" autocomplete="username" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          run(async () => {
            await linkLogin(tokenOf(link));
            return loadSession();
          });
        }}
      >
        <h2>One-time link</h2>
        <p class="muted">
          Open the link that <code>ng.serve(rt)</code> or <code>srv.login_url</code> prints, or paste it here.
        </p>
        <label>
          Login link
          <input
            name="link"
            required
            value={link}
            onInput={(e) => setLink(e.currentTarget.value)}
            placeholder="http://127.0.0.1:8765/login?token=…"
          />
        </label>
        <button type="submit" disabled={busy}>
          Use link
        </button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}
