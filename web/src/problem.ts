import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";

/** A failed call, said so a person understands it and knows what to do next. */
export interface Problem {
  readonly title: string;
  readonly detail: string;
  /** What the person can do about it. */
  readonly action: string;
  /** Field violations by request field path (`payment_token`, `items[0].quantity`). */
  readonly fields: Readonly<Record<string, string>>;
  /** Whether trying the same thing again later may work. */
  readonly retryable: boolean;
  readonly code: Code;
}

const unavailable = (what: string): Omit<Problem, "fields" | "code"> => ({
  title: `${what} is unavailable right now`,
  detail: "The service could not take the request. Nothing was changed.",
  action: "Wait a moment and try again; your cart is kept.",
  retryable: true,
});

/**
 * A call whose answer never came — the network failed, or the deadline passed: it may
 * have been done, or not. Saying "nothing was changed" would invite placing the order
 * again under another key.
 */
const unanswered = (title: string): Omit<Problem, "fields" | "code"> => ({
  title,
  detail: "No answer came back. If you were placing or cancelling an order, it may have gone through.",
  action: "Try again — an order or a cancellation sent again is never applied twice — or look in My orders.",
  retryable: true,
});

/**
 * Explains an RPC error: validation violations per field, a stable reason from the
 * order service's ErrorInfo, or the status code. `what` names the service asked
 * ("The catalog", "Ordering").
 */
export function explain(error: unknown, what = "The shop"): Problem {
  const connect = ConnectError.from(error);
  const fields = Object.fromEntries(
    connect.findDetails(BadRequestSchema).flatMap((bad) => bad.fieldViolations.map((v) => [v.field, v.description])),
  );
  const reason = connect.findDetails(ErrorInfoSchema)[0]?.reason ?? "";
  const base = { fields, code: connect.code };
  switch (reason) {
    case "ORDER_UNKNOWN_SKU":
      return {
        ...base,
        title: "A product in your cart is no longer sold",
        detail: connect.rawMessage,
        action: "Remove it from your cart and check out again.",
        retryable: false,
      };
    case "ORDER_MIXED_CURRENCIES":
      return {
        ...base,
        title: "Your cart mixes currencies",
        detail: "One order is paid in one currency.",
        action: "Check out the products of each currency separately.",
        retryable: false,
      };
    case "ORDER_NOTHING_TO_CHARGE":
      return {
        ...base,
        title: "Your cart costs nothing",
        detail: "An order is confirmed by its payment, and there is nothing to pay.",
        action: "Add a product with a price to your cart.",
        retryable: false,
      };
    case "ORDER_TOTAL_TOO_LARGE":
      return {
        ...base,
        title: "Your cart costs more than one order may",
        detail: connect.rawMessage,
        action: "Lower the quantities, or check out in several orders.",
        retryable: false,
      };
    case "ORDER_NOT_CANCELLABLE":
      return {
        ...base,
        title: "This order can no longer be cancelled",
        detail: connect.rawMessage,
        action: "Reload the order to see where it stands.",
        retryable: false,
      };
    case "ORDER_INVENTORY_UNAVAILABLE":
      return { ...base, ...unavailable("Pricing") };
  }
  switch (connect.code) {
    case Code.InvalidArgument:
      return {
        ...base,
        title: "Some details need fixing",
        detail: Object.keys(fields).length > 0 ? "See the highlighted fields." : connect.rawMessage,
        action: "Correct them and try again.",
        retryable: false,
      };
    case Code.Unauthenticated:
      return {
        ...base,
        title: "Please sign in",
        detail: "Your session is missing or has expired.",
        action: "Sign in again, then retry.",
        retryable: false,
      };
    case Code.PermissionDenied:
      return {
        ...base,
        title: "Not allowed",
        detail: "This account may not do that.",
        action: "Sign in as a customer.",
        retryable: false,
      };
    case Code.NotFound:
      return {
        ...base,
        title: "Not found",
        detail: connect.rawMessage,
        action: "Check the link, or go back to the catalog.",
        retryable: false,
      };
    // Only the order service's word that nothing was written (its catalog could not
    // be asked) makes UNAVAILABLE harmless: a proxy's 502 or 503, a connection lost
    // after the order's commit, is UNAVAILABLE too, and may follow a placed order.
    case Code.Unavailable:
      return reason === "ORDER_INVENTORY_UNAVAILABLE"
        ? { ...base, ...unavailable(what) }
        : { ...base, ...unanswered(`${what} is unavailable right now`) };
    case Code.ResourceExhausted:
      return { ...base, ...unavailable(what) };
    case Code.Unknown:
      return { ...base, ...unanswered(`${what} is unavailable right now`) };
    case Code.DeadlineExceeded:
    case Code.Aborted:
    case Code.Canceled:
      return { ...base, ...unanswered(`${what} did not answer in time`) };
    default:
      return {
        ...base,
        title: "Something went wrong",
        detail: connect.rawMessage,
        action: "Try again; if it keeps happening, contact support.",
        retryable: true,
      };
  }
}
