import { Code } from "@connectrpc/connect";
import { type FormEvent, useEffect, useState } from "react";
import { type Cart, type CartLine, cartTotals, withCurrentPrices, withoutOrdered } from "../cart.js";
import { checkoutKey, forgetCheckoutKey, pendingPaymentToken } from "../checkout-attempt.js";
import { explain, type Problem } from "../problem.js";
import { href } from "../route.js";
import { useShop } from "../shop.js";
import { traced } from "../tracing.js";
import { CartTotal, PageTitle, Price, ProblemPanel } from "../ui.js";
import { newKey } from "../use-call.js";
import { SignInForm } from "./sign-in.js";

/** The payment simulator's test tokens, explained (services/payment/README.md). */
export const testCards = [
  { token: "tok_visa", label: "Test Visa", effect: "The payment succeeds and the order is confirmed." },
  {
    token: "tok_declined",
    label: "Declined card",
    effect: "The bank declines: the order is cancelled, nothing is charged.",
  },
  {
    token: "tok_insufficient_funds",
    label: "Insufficient funds",
    effect: "Declined for insufficient funds: the order is cancelled.",
  },
  {
    token: "tok_transient_3",
    label: "Flaky provider",
    effect: "Fails three times, is retried automatically, then succeeds.",
  },
  { token: "tok_visa_slow", label: "Slow Visa", effect: "Succeeds after a 200 ms delay." },
] as const;

/**
 * How long Place order waits for its answer: a connection that went silent would
 * otherwise keep "Placing your order…" up for ever. Sent again, the order keeps its key.
 */
const placeOrderTimeoutMs = 15_000;

/** A product as the catalog describes it today, for a cart line. */
type CatalogLine = Omit<CartLine, "quantity">;

/** The names of the lines whose unit price the catalog now gives otherwise. */
function repricedLines(cart: Cart, current: ReadonlyMap<string, CatalogLine>): string[] {
  return cart
    .filter((line) => {
      const now = current.get(line.sku)?.unitPrice;
      return (
        now !== undefined &&
        (now.amountMinor !== line.unitPrice.amountMinor || now.currencyCode !== line.unitPrice.currencyCode)
      );
    })
    .map((line) => line.name);
}

/** The radio button for a payment token: a test card's, else "other" (the default card without one). */
function choiceOf(paymentToken: string | undefined): string {
  if (paymentToken === undefined) return "tok_visa";
  return testCards.some((card) => card.token === paymentToken) ? paymentToken : "other";
}

/** The "another test token" field for a payment token: the token, unless a test card's radio button shows it. */
function otherOf(paymentToken: string | undefined): string {
  return choiceOf(paymentToken) === "other" ? (paymentToken ?? "") : "";
}

/** Violations of the order's lines and its payment token are shown beside them; the rest with the problem. */
const shownBeside = (field: string) => /^items\[\d+\]/.test(field) || field === "payment_token";

/** Checkout: the cart's lines, a test card, and Place order; then the live order page. */
export function CheckoutPage() {
  const { cart, setCart, session, clients, navigate } = useShop();
  // A checkout sent and not answered is offered again as it was sent (its card too) —
  // looked up again when the customer signs in on this page: the pending key is theirs,
  // and the default card would send another request under a new key, a second order.
  const pendingFor = (customerId: string | undefined) =>
    typeof localStorage === "undefined" ? undefined : pendingPaymentToken(localStorage, { items: cart, customerId });
  const [offeredTo, setOfferedTo] = useState(session?.customerId);
  const [choice, setChoice] = useState<string>(() => choiceOf(pendingFor(offeredTo)));
  const [other, setOther] = useState(() => otherOf(pendingFor(offeredTo)));
  if (session?.customerId !== offeredTo) {
    setOfferedTo(session?.customerId);
    const pending = pendingFor(session?.customerId);
    if (pending !== undefined) {
      setChoice(choiceOf(pending));
      setOther(otherOf(pending));
    }
  }
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>();
  // "Please sign in" is over once the customer has signed in again.
  useEffect(() => {
    if (session) setProblem((shown) => (shown?.code === Code.Unauthenticated ? undefined : shown));
  }, [session]);
  // The cart keeps the prices of the moment each product was added; the order is priced
  // now. The lines and the total beside Place order show today's prices, and a change is
  // pointed out. They are shown, not written back into the cart: a page's cart can be
  // older than the one kept in the browser (another tab's, or this page's own write,
  // which raises no storage event here), and writing it would bring old lines back.
  const skus = cart.map((line) => line.sku).join(" ");
  const [today, setToday] = useState<{ skus: string; prices: ReadonlyMap<string, CatalogLine> }>();
  const pricesChecked = today?.skus === skus;
  useEffect(() => {
    if (skus === "") return;
    const abort = new AbortController();
    const checked = (prices: ReadonlyMap<string, CatalogLine>) => abort.signal.aborted || setToday({ skus, prices });
    clients.catalog.batchGetProducts({ skus: skus.split(" ") }, { signal: abort.signal }).then(
      ({ products }) =>
        checked(
          new Map(
            products.map((product) => [
              product.sku,
              {
                sku: product.sku,
                name: product.name,
                unitPrice: {
                  amountMinor: product.price?.amountMinor ?? 0n,
                  currencyCode: product.price?.currencyCode ?? "",
                },
              },
            ]),
          ),
        ),
      // Unchecked, the cart's prices are shown; the order service prices the order anyway.
      () => checked(new Map()),
    );
    return () => abort.abort();
  }, [skus, clients]);
  const shown = withCurrentPrices(cart, pricesChecked ? today.prices : new Map());
  const repriced = pricesChecked ? repricedLines(cart, today.prices) : [];

  if (cart.length === 0) {
    return (
      <>
        <PageTitle>Checkout</PageTitle>
        <p>
          Your cart is empty. <a href={href({ page: "catalog", query: "" })}>Browse the catalog</a>.
        </p>
      </>
    );
  }
  const paymentToken = choice === "other" ? other.trim() : choice;
  const paymentError = problem?.fields.payment_token;
  const otherViolations = Object.entries(problem?.fields ?? {}).filter(([field]) => !shownBeside(field));
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const items = cart.map((line) => ({ sku: line.sku, quantity: line.quantity }));
    const request = { items, paymentToken, customerId: session?.customerId };
    const idempotencyKey = checkoutKey(localStorage, request, newKey);
    setBusy(true);
    setProblem(undefined);
    try {
      const { order } = await traced("checkout", (contextValues) =>
        clients.orders.placeOrder(
          { idempotencyKey, items, paymentToken },
          { contextValues, timeoutMs: placeOrderTimeoutMs },
        ),
      );
      if (!order) throw new Error("the order service answered no order");
      forgetCheckoutKey(localStorage, request, idempotencyKey);
      setCart((current) => withoutOrdered(current, items));
      navigate({ page: "order", orderId: order.orderId });
    } catch (error) {
      setProblem(explain(error, "Ordering"));
      setBusy(false);
    }
  };
  return (
    <>
      <PageTitle>Checkout</PageTitle>
      <section aria-labelledby="summary-title">
        <h2 id="summary-title">Your order</h2>
        <ul className="summary">
          {shown.map((line, index) => {
            const lineError = Object.entries(problem?.fields ?? {}).find(([field]) =>
              field.startsWith(`items[${index}]`),
            );
            return (
              <li key={line.sku}>
                {line.quantity} × {line.name} <Price amount={line.unitPrice} />
                {lineError ? <span className="field-error"> {lineError[1]}</span> : null}
              </li>
            );
          })}
        </ul>
        {repriced.length > 0 ? (
          <p className="notice" role="status">
            The price of {repriced.join(", ")} changed since you added {repriced.length > 1 ? "them" : "it"}: the total
            below is today's.
          </p>
        ) : null}
        <p className="total">
          <CartTotal totals={cartTotals(shown)} /> <a href={href({ page: "cart" })}>Change the cart</a>
        </p>
      </section>
      {session ? (
        <form onSubmit={submit} noValidate>
          <fieldset aria-describedby="cards-help">
            <legend>Payment</legend>
            <p id="cards-help" className="muted">
              This shop runs the payment simulator: no real card numbers. Each test card below is a token the simulator
              answers in a known way, so you can see every outcome.
            </p>
            {testCards.map((card) => (
              <div className="choice" key={card.token}>
                <input
                  type="radio"
                  id={`card-${card.token}`}
                  name="card"
                  value={card.token}
                  checked={choice === card.token}
                  onChange={() => setChoice(card.token)}
                />
                <label htmlFor={`card-${card.token}`}>
                  <strong>{card.label}</strong> <code>{card.token}</code> — {card.effect}
                </label>
              </div>
            ))}
            <div className="choice">
              <input
                type="radio"
                id="card-other"
                name="card"
                value="other"
                checked={choice === "other"}
                onChange={() => setChoice("other")}
              />
              <label htmlFor="card-other">Another test token</label>
            </div>
            {choice === "other" ? (
              <div className="field">
                <label htmlFor="payment-token">Payment token</label>
                <input
                  id="payment-token"
                  value={other}
                  onChange={(event) => setOther(event.target.value)}
                  aria-invalid={paymentError ? true : undefined}
                  aria-describedby={paymentError ? "payment-token-error" : "payment-token-hint"}
                />
                <p id="payment-token-hint" className="muted">
                  Lower-case letters, digits and underscores, e.g. <code>tok_transient_2_slow</code>.
                </p>
                {paymentError ? (
                  <p id="payment-token-error" className="field-error">
                    {paymentError}
                  </p>
                ) : null}
              </div>
            ) : paymentError ? (
              <p className="field-error">{paymentError}</p>
            ) : null}
          </fieldset>
          {problem ? <ProblemPanel problem={problem} /> : null}
          {otherViolations.length > 0 ? (
            <ul className="field-error">
              {otherViolations.map(([field, description]) => (
                <li key={field}>
                  <code>{field}</code>: {description}
                </li>
              ))}
            </ul>
          ) : null}
          <button type="submit" className="primary" disabled={busy || !pricesChecked}>
            {busy ? "Placing your order…" : pricesChecked ? "Place order" : "Checking prices…"}
          </button>
        </form>
      ) : (
        <section aria-labelledby="sign-in-title">
          <h2 id="sign-in-title">Sign in to check out</h2>
          <SignInForm />
        </section>
      )}
    </>
  );
}
