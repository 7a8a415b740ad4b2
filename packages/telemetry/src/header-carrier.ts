import type { TextMapGetter, TextMapSetter } from "@opentelemetry/api";

/** Reads trace context from Fetch API headers (Connect requests). */
export const headersGetter: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier.get(key) ?? undefined,
  keys: (carrier) => [...carrier.keys()],
};

/** Reads trace context from a plain record (outbox rows, NATS headers copied out). */
export const recordGetter: TextMapGetter<Record<string, string>> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};

/** Writes trace context into a plain record. */
export const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};
