import { type FormEvent, useState } from "react";
import { beginOidcSignIn, devSignIn } from "../session.js";
import { useShop } from "../shop.js";
import { PageTitle } from "../ui.js";

/** Signs a customer in the way the configuration says: demo customer locally, the identity provider in production. */
export function SignInForm({ onSignedIn }: { onSignedIn?: () => void }) {
  const { config, setSession } = useShop();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const identity = config.identity;
  if (identity.kind === "none") {
    return (
      <p className="notice">
        Sign-in is not configured for this storefront. Locally, start it with <code>npm start</code>, which serves a
        demo sign-in; in production, set <code>identity</code> in <code>config.json</code>.
      </p>
    );
  }
  if (identity.kind === "oidc") {
    return (
      <button type="button" onClick={() => void beginOidcSignIn(identity)}>
        Sign in with your account
      </button>
    );
  }
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const customer = String(new FormData(event.currentTarget).get("customer") ?? "").trim();
    setBusy(true);
    setError("");
    try {
      setSession(await devSignIn(identity, customer || "demo-customer"));
      onSignedIn?.();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="sign-in" onSubmit={submit}>
      <p className="muted">Local development: sign in as a demo customer, no password needed.</p>
      <label htmlFor="customer">Customer id</label>
      <div className="row">
        <input
          id="customer"
          name="customer"
          defaultValue="demo-customer"
          autoComplete="username"
          aria-describedby={error ? "sign-in-error" : undefined}
        />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in as demo customer"}
        </button>
      </div>
      {error ? (
        <p id="sign-in-error" className="field-error" role="alert">
          Could not sign in: {error}. Is <code>npm start</code> running?
        </p>
      ) : null}
    </form>
  );
}

/** The sign-in page. */
export function SignInPage() {
  const { session, navigate } = useShop();
  return (
    <>
      <PageTitle>Sign in</PageTitle>
      {session ? <p>You are signed in as {session.customerId}.</p> : null}
      <SignInForm onSignedIn={() => navigate({ page: "catalog", query: "" })} />
    </>
  );
}
