/** How the storefront signs a customer in. */
export type IdentityConfig =
  /** Local development: a token endpoint served by `npm start` signs demo tokens. */
  | { readonly kind: "dev"; readonly tokenUrl: string }
  /** Production: an OpenID Connect provider, authorization code flow with PKCE. */
  | {
      readonly kind: "oidc";
      readonly authorizeUrl: string;
      readonly tokenUrl: string;
      readonly clientId: string;
      readonly scope: string;
      readonly audience?: string;
    }
  /** No sign-in configured: the catalog works, checkout explains why it cannot. */
  | { readonly kind: "none" };

/** The storefront's runtime configuration, read from `config.json` beside index.html. */
export interface StorefrontConfig {
  /** Base URL of the order service's Connect listener. */
  readonly orderUrl: string;
  /** Base URL of the inventory service's Connect listener (catalog). */
  readonly catalogUrl: string;
  /**
   * OTLP/HTTP traces endpoint (`…/v1/traces`). When empty the browser traces nothing
   * and sends no `traceparent`: the services' sampler decides each checkout.
   */
  readonly otlpTracesUrl: string;
  /** With an endpoint: the share of user actions traced, from 0 to 1 (default 1). */
  readonly tracesSampleRatio: number;
  readonly identity: IdentityConfig;
}

/** Where the page is: `window.location` in the browser. */
interface Place {
  readonly protocol: string;
  readonly hostname: string;
  readonly href: string;
}

/**
 * Reads a `config.json` document; missing settings default to the ports `npm start`
 * uses on the page's own host (order :8081, inventory :8082) and no sign-in. Service
 * URLs may be relative to the page: `"/"` is the page's own origin, where the
 * storefront image's nginx proxies the public RPCs.
 */
export function parseConfig(raw: unknown, place: Place): StorefrontConfig {
  const doc = isRecord(raw) ? raw : {};
  const base = `${place.protocol}//${place.hostname}`;
  return {
    orderUrl: serviceUrl(doc.orderUrl, place) ?? `${base}:8081`,
    catalogUrl: serviceUrl(doc.catalogUrl, place) ?? `${base}:8082`,
    otlpTracesUrl: text(doc.otlpTracesUrl) ?? "",
    tracesSampleRatio: ratio(doc.tracesSampleRatio) ?? 1,
    identity: parseIdentity(doc.identity),
  };
}

function parseIdentity(raw: unknown): IdentityConfig {
  if (!isRecord(raw)) return { kind: "none" };
  if (raw.kind === "dev") return { kind: "dev", tokenUrl: text(raw.tokenUrl) ?? "/dev/token" };
  const authorizeUrl = text(raw.authorizeUrl);
  const tokenUrl = text(raw.tokenUrl);
  const clientId = text(raw.clientId);
  if (raw.kind === "oidc" && authorizeUrl && tokenUrl && clientId) {
    const audience = text(raw.audience);
    return {
      kind: "oidc",
      authorizeUrl,
      tokenUrl,
      clientId,
      scope: text(raw.scope) ?? "openid",
      ...(audience ? { audience } : {}),
    };
  }
  return { kind: "none" };
}

/** Fetches `config.json` (a missing file means defaults). */
export async function loadConfig(): Promise<StorefrontConfig> {
  let raw: unknown = {};
  try {
    const response = await fetch(new URL("config.json", document.baseURI), { cache: "no-store" });
    if (response.ok) raw = await response.json();
  } catch {
    raw = {};
  }
  return parseConfig(raw, window.location);
}

/**
 * A service's base URL made absolute against the page. Connect-Web only appends the
 * method's path, and fetch would resolve a relative result the same way, but the
 * tracing derives the origins that get `traceparent` from these URLs: one meaning
 * everywhere is simpler than relying on each consumer to resolve. A URL that cannot be
 * parsed counts as missing.
 */
function serviceUrl(value: unknown, place: Place): string | undefined {
  const given = text(value);
  if (given === undefined) return undefined;
  try {
    return new URL(given, place.href).href;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function ratio(value: unknown): number | undefined {
  return typeof value === "number" && value >= 0 && value <= 1 ? value : undefined;
}
