// Admin: users (add, role, disable, remove) and API keys (create: the secret is shown once;
// revoke). Every control is admin-only (`data-write data-admin`); the API checks anyway.
import { useState } from "preact/hooks";
import { Card, ErrorBox, fmtTime, preactPage, useLoad } from "../ui";
import type { PageCtx } from "./index";

interface User {
  name: string;
  role: string;
  disabled: boolean;
  has_password: boolean;
  created: number;
  ephemeral: boolean;
}

interface Key {
  id: string;
  owner: string;
  role: string;
  created: number;
  expires: number | null;
  last_used: number | null;
  ephemeral: boolean;
}

const ROLES = ["readonly", "user", "admin"];

function Admin({ ctx }: { ctx: PageCtx }) {
  const users = useLoad((signal) => ctx.api<User[]>("GET", "/users", { signal }).then((r) => r.data));
  const keys = useLoad((signal) => ctx.api<Key[]>("GET", "/api-keys", { signal }).then((r) => r.data));
  const [error, setError] = useState<unknown>(null);
  const [newKey, setNewKey] = useState<string | null>(null);
  const [u, setU] = useState({ name: "", role: "readonly", password: "" });
  const [k, setK] = useState({ owner: "", role: "readonly", hours: "" });

  const act = async (fn: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await fn();
      ctx.toast(done);
    } catch (e) {
      setError(e);
    }
    users.reload();
    keys.reload();
  };

  return (
    <div class="admin">
      <ErrorBox error={error ?? users.error ?? keys.error} />
      <Card title="Users" wide>
        <div class="table-wrap">
          <table data-table="users">
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
                <th>Password</th>
                <th>Created</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(users.data ?? []).map((x) => (
                <tr key={x.name}>
                  <td>{x.name}</td>
                  <td>
                    {x.ephemeral ? (
                      x.role
                    ) : (
                      <select
                        aria-label={`Role of ${x.name}`}
                        value={x.role}
                        data-write
                        data-admin
                        onChange={(e) =>
                          act(
                            () => ctx.api("PATCH", `/users/${encodeURIComponent(x.name)}`, { body: { role: e.currentTarget.value } }),
                            `${x.name} is now ${e.currentTarget.value}`,
                          )
                        }
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    )}
                  </td>
                  <td>{x.has_password ? "yes" : "keys only"}</td>
                  <td>{fmtTime(x.created)}</td>
                  <td>{x.ephemeral ? "this notebook" : x.disabled ? "disabled" : "active"}</td>
                  <td class="actions">
                    {!x.ephemeral && (
                      <>
                        <button
                          type="button"
                          class="ghost"
                          data-write
                          data-admin
                          onClick={() =>
                            act(
                              () => ctx.api("PATCH", `/users/${encodeURIComponent(x.name)}`, { body: { disabled: !x.disabled } }),
                              `${x.name} ${x.disabled ? "enabled" : "disabled"}`,
                            )
                          }
                        >
                          {x.disabled ? "Enable" : "Disable"}
                        </button>
                        <button
                          type="button"
                          class="danger"
                          data-write
                          data-admin
                          onClick={() =>
                            confirm(`Remove user ${x.name}?`) &&
                            act(() => ctx.api("DELETE", `/users/${encodeURIComponent(x.name)}`), `${x.name} removed`)
                          }
                        >
                          Remove
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            act(
              () => ctx.api("POST", "/users", { body: { name: u.name.trim(), role: u.role, password: u.password || undefined } }),
              `user ${u.name.trim()} added`,
            ).then(() => setU({ name: "", role: "readonly", password: "" }));
          }}
        >
          <input
            aria-label="New user name"
            placeholder="name"
            required
            value={u.name}
            onInput={(e) => setU({ ...u, name: e.currentTarget.value })}
            data-write
            data-admin
          />
          <select
            aria-label="New user role"
            value={u.role}
            onChange={(e) => setU({ ...u, role: e.currentTarget.value })}
            data-write
            data-admin
          >
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
          <input
            aria-label="New user password"
            type="password"
            autocomplete="new-password"
            placeholder="password (optional, 8+)"
            value={u.password}
            onInput={(e) => setU({ ...u, password: e.currentTarget.value })}
            data-write
            data-admin
          />
          <button type="submit" data-write data-admin>
            Add user
          </button>
        </form>
      </Card>
      <Card title="API keys" wide>
        {newKey && (
          <div class="secret" role="status" data-new-key>
            <p>The new key (shown once; copy it now):</p>
            <code>{newKey}</code>
            <button type="button" class="ghost" onClick={() => navigator.clipboard?.writeText(newKey)}>
              Copy
            </button>
            <button type="button" class="ghost" onClick={() => setNewKey(null)}>
              Hide
            </button>
          </div>
        )}
        <div class="table-wrap">
          <table data-table="keys">
            <thead>
              <tr>
                <th>Id</th>
                <th>Owner</th>
                <th>Role</th>
                <th>Created</th>
                <th>Expires</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(keys.data ?? []).map((x) => (
                <tr key={x.id}>
                  <td>
                    <code>{x.id}</code>
                  </td>
                  <td>{x.owner}</td>
                  <td>{x.role}</td>
                  <td>{fmtTime(x.created)}</td>
                  <td>{x.expires ? fmtTime(x.expires) : "never"}</td>
                  <td>{x.last_used ? fmtTime(x.last_used) : "—"}</td>
                  <td class="actions">
                    {!x.ephemeral && (
                      <button
                        type="button"
                        class="danger"
                        data-write
                        data-admin
                        onClick={() =>
                          confirm(`Revoke key ${x.id}?`) &&
                          act(() => ctx.api("DELETE", `/api-keys/${encodeURIComponent(x.id)}`), `key ${x.id} revoked`)
                        }
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const hours = Number(k.hours);
            act(async () => {
              const r = await ctx.api<{ key: string }>("POST", "/api-keys", {
                body: {
                  owner: k.owner.trim() || undefined,
                  role: k.role,
                  expires_in: k.hours && hours > 0 ? Math.round(hours * 3600) : undefined,
                },
              });
              setNewKey(r.data.key);
            }, "key created");
          }}
        >
          <input
            aria-label="Key owner"
            placeholder="owner (default: you)"
            value={k.owner}
            onInput={(e) => setK({ ...k, owner: e.currentTarget.value })}
            data-write
            data-admin
          />
          <select aria-label="Key role" value={k.role} onChange={(e) => setK({ ...k, role: e.currentTarget.value })} data-write data-admin>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
          <input
            aria-label="Expires in hours"
            type="number"
            min="0"
            step="any"
            placeholder="expires in h (empty: never)"
            value={k.hours}
            onInput={(e) => setK({ ...k, hours: e.currentTarget.value })}
            data-write
            data-admin
          />
          <button type="submit" data-write data-admin>
            Create key
          </button>
        </form>
      </Card>
    </div>
  );
}

export default preactPage("admin", "Admin", Admin, true);
