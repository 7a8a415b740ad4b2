import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";

/** Who is calling, as established from the request's bearer token. */
export type Caller =
  | { readonly kind: "anonymous" }
  | { readonly kind: "customer"; readonly customerId: string }
  | { readonly kind: "service"; readonly subject: string };

/** The per-request caller, set by the auth interceptor. */
export const callerKey = createContextKey<Caller>({ kind: "anonymous" }, { description: "shopmesh caller" });

/**
 * The customer id of the caller; UNAUTHENTICATED when the caller is not a customer.
 * Customer ids only ever come from here, never from request fields.
 */
export function customerIdOf(context: Pick<HandlerContext, "values">): string {
  const caller = context.values.get(callerKey);
  if (caller.kind !== "customer") throw new ConnectError("a customer token is required", Code.Unauthenticated);
  return caller.customerId;
}
