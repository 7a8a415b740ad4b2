export { createAuthInterceptor } from "./auth-interceptor.js";
export { type Caller, callerKey, customerIdOf } from "./caller.js";
export { type DevTokenRequest, signDevToken } from "./dev-tokens.js";
export {
  createTokenVerifier,
  KeysUnavailableError,
  type TokenVerifier,
  type TokenVerifierOptions,
} from "./token-verifier.js";
