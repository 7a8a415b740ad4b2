import { Component, type ReactNode } from "react";
import { type Amount, formatMoney } from "./money.js";
import type { Problem } from "./problem.js";

/** A loading indicator announced to screen readers. */
export function Loading({ label }: { label: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** A problem with its title, explanation and what to do next, plus an optional retry. */
export function ProblemPanel({
  problem,
  onRetry,
  children,
}: {
  problem: Problem;
  onRetry?: (() => void) | undefined;
  children?: ReactNode;
}) {
  return (
    <div className="problem" role="alert">
      <h2>{problem.title}</h2>
      <p>{problem.detail}</p>
      <p className="action">{problem.action}</p>
      {children}
      {onRetry && problem.retryable ? (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** A price in its currency. */
export function Price({ amount }: { amount: Amount | undefined }) {
  return <span className="price">{amount ? formatMoney(amount) : "—"}</span>;
}

/** "Total: …" of a cart, one amount per currency. */
export function CartTotal({ totals }: { totals: readonly Amount[] }) {
  return (
    <>
      Total: <strong>{totals.map((total) => formatMoney(total)).join(" + ")}</strong>
    </>
  );
}

/** The page heading; focused after navigation so keyboard and screen-reader users land on it. */
export function PageTitle({ children }: { children: ReactNode }) {
  return <h1 tabIndex={-1}>{children}</h1>;
}

/** Keeps a page that fails to render from blanking the screen: says so and offers a way on. */
export class PageBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override componentDidCatch(error: unknown): void {
    console.error("the page failed to render", error);
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    return (
      <div className="problem" role="alert">
        <h2>This page could not be shown</h2>
        <p>Something unexpected went wrong in the storefront. Your cart is kept.</p>
        <p className="action">
          <a href="#/">Go to the catalog</a> or reload the page.
        </p>
      </div>
    );
  }
}
