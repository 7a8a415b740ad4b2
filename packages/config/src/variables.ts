import { z } from "zod";

/** A TCP port, 0 to 65535 (0: any free port, as tests listen). */
const port = String.raw`(6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|\d{1,4})`;
const address = String.raw`(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):${port}`;

/** A "host:port" listen address or dial target. */
export const hostPort = () => z.string().regex(new RegExp(`^${address}$`), "expected host:port, such as 0.0.0.0:50051");

const target = new RegExp(
  `^(${address}|dns:(//[A-Za-z0-9_.:-]*/)?${address}|ipv4:${address}(,${address})*|ipv6:${address}(,${address})*)$`,
);

/**
 * A gRPC dial target: "host:port", "dns:///name:port" (every address the name
 * resolves to, as from a headless Service) or "ipv4:a:port,b:port" (a fixed list).
 */
export const grpcTarget = () =>
  z.string().regex(target, "expected a gRPC target: host:port, dns:///host:port or ipv4:host:port,host:port");

/** A URL with one of the given schemes. */
export const urlWithScheme = (...schemes: string[]) =>
  // `abort`: zod 4 would run the scheme check on a value that is no URL, whose
  // `new URL()` throws — a crash instead of a problem named by its variable.
  z.url({ abort: true }).refine((value) => schemes.includes(new URL(value).protocol.slice(0, -1)), {
    message: `expected a ${schemes.join(" or ")} URL`,
  });

/** A positive integer given as a string, such as a size or a duration in ms. */
export const positiveInt = () => z.coerce.number().int().positive();

/** A comma-separated list, such as allowed browser origins. */
export const commaList = () =>
  z.string().transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

/**
 * NATS servers, comma-separated, each a URL (`nats://nats-0.nats:4222`, `tls://…`,
 * `ws://…`) or `host:port`, as nats.js takes them; the value stays the list as given.
 */
export const natsServers = () =>
  z.string().refine((value) => value.split(",").every((server) => hasHost(server.trim())), {
    message: "expected NATS servers, comma-separated, such as nats://nats-0:4222,nats://nats-1:4222",
  });

function hasHost(server: string): boolean {
  const url = URL.parse(server.includes("://") ? server : `nats://${server}`);
  return url !== null && url.hostname !== "";
}

/**
 * Browser origins, comma-separated: `*`, or each an origin as a browser sends it —
 * scheme, host and port, nothing more. An entry with a path or a trailing slash
 * (`https://shop.example.com/`) would match no request, silently refusing every browser.
 */
export const webOrigins = () =>
  commaList().superRefine((origins, context) => {
    for (const origin of origins) {
      if (origin !== "*" && !isBareOrigin(origin)) {
        context.addIssue({
          code: "custom",
          message: `"${origin}" is no origin: expected * or scheme://host[:port], such as https://shop.example.com`,
        });
      }
    }
  });

function isBareOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value;
  } catch {
    return false;
  }
}
