import { type DescService, getOption } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Access, access } from "@shopmesh/gen/shopmesh/common/v1/access_pb.js";
import { type Caller, callerKey } from "./caller.js";
import { KeysUnavailableError, type TokenVerifier } from "./token-verifier.js";

/**
 * Establishes the caller from `authorization: Bearer <JWT>` and enforces the
 * service's `(shopmesh.common.v1.access)` option: no or an invalid token where one is
 * needed is UNAUTHENTICATED; a valid token of the wrong role is PERMISSION_DENIED;
 * a token that cannot be checked now (the identity provider's keys unreadable) is
 * UNAVAILABLE, which clients retry.
 */
export function createAuthInterceptor(verify: TokenVerifier): Interceptor {
  // Reading an option decodes it from the descriptor's options: once per service, not per call.
  const accessOf = new WeakMap<DescService, Access>();
  const requiredFor = (service: DescService) => {
    const known = accessOf.get(service);
    if (known !== undefined) return known;
    const required = getOption(service, access);
    accessOf.set(service, required);
    return required;
  };
  return (next) => async (req) => {
    const required = requiredFor(req.service);
    const caller = await callerOf(req.header.get("authorization"), verify, required);
    if (required === Access.CUSTOMER && caller.kind !== "customer") {
      throw denied(caller, "a customer token is required");
    }
    if (required === Access.SERVICE && caller.kind !== "service") {
      throw denied(caller, "a service token is required: this RPC is internal");
    }
    req.contextValues.set(callerKey, caller);
    return next(req);
  };
}

async function callerOf(header: string | null, verify: TokenVerifier, required: Access): Promise<Caller> {
  // Whoever calls a service open to anyone is served as anonymous: its token is not
  // verified, so such a call never waits for the identity provider.
  if (header === null || required === Access.ANONYMOUS || required === Access.UNSPECIFIED) {
    return { kind: "anonymous" };
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match?.[1] === undefined) {
    throw new ConnectError("authorization header must be 'Bearer <token>'", Code.Unauthenticated);
  }
  try {
    return await verify(match[1]);
  } catch (error) {
    if (error instanceof KeysUnavailableError) {
      throw new ConnectError(
        "tokens cannot be verified now; retry shortly",
        Code.Unavailable,
        undefined,
        undefined,
        error,
      );
    }
    throw new ConnectError("invalid or expired token", Code.Unauthenticated, undefined, undefined, error);
  }
}

function denied(caller: Caller, message: string): ConnectError {
  return new ConnectError(message, caller.kind === "anonymous" ? Code.Unauthenticated : Code.PermissionDenied);
}
