import { Metadata } from "@grpc/grpc-js";

/** Copies request metadata into Fetch API Headers (binary values as base64, as Connect does). */
export function headersFromMetadata(metadata: Metadata): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(metadata.getMap())) {
    headers.append(key, typeof value === "string" ? value : value.toString("base64"));
  }
  return headers;
}

/** Merges Fetch API Headers into one grpc-js Metadata, skipping reserved gRPC keys. */
export function grpcMetadata(...sources: (Headers | undefined)[]): Metadata {
  const metadata = new Metadata();
  for (const headers of sources) {
    headers?.forEach((value, key) => {
      if (key.startsWith("grpc-") || key === "content-type") return;
      if (key.endsWith("-bin")) metadata.add(key, Buffer.from(value, "base64"));
      else metadata.add(key, value);
    });
  }
  return metadata;
}
