import { type DependencyList, useCallback, useEffect, useState } from "react";
import { explain, type Problem } from "./problem.js";

/** A call's progress as a page renders it. */
export type Loaded<T> =
  | { readonly kind: "loading" }
  | { readonly kind: "ready"; readonly value: T }
  | { readonly kind: "failed"; readonly problem: Problem };

/**
 * Runs `call` whenever `deps` change and tracks its result; `retry` runs it again.
 * An answer arriving after the page moved on is dropped (the call is aborted).
 */
export function useCall<T>(
  call: (signal: AbortSignal) => Promise<T>,
  deps: DependencyList,
  what?: string,
): { state: Loaded<T>; retry: () => void } {
  const [state, setState] = useState<Loaded<T>>({ kind: "loading" });
  const [attempt, setAttempt] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to call again
  useEffect(() => {
    const abort = new AbortController();
    setState({ kind: "loading" });
    call(abort.signal).then(
      (value) => abort.signal.aborted || setState({ kind: "ready", value }),
      (error: unknown) => abort.signal.aborted || setState({ kind: "failed", problem: explain(error, what) }),
    );
    return () => abort.abort();
  }, [...deps, attempt]);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  return { state, retry };
}

/** A fresh idempotency key (crypto.randomUUID needs a secure context; this does not). */
export function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
