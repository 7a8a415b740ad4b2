import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protoDir = fileURLToPath(new URL("../../../proto", import.meta.url));

/**
 * A stock @grpc/grpc-js client built from the .proto files with proto-loader —
 * nothing of shopmesh's own code — as a client in any language would be. Messages are
 * plain objects with enums and 64-bit integers as strings.
 */
export function stockGrpcClient(protoFile: string, service: string, target: string): StockClient {
  const definition = protoLoader.loadSync(protoFile, {
    includeDirs: [protoDir],
    longs: String,
    enums: String,
    defaults: true,
  });
  const serviceConstructor = service
    .split(".")
    .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], grpc.loadPackageDefinition(definition));
  const client = new (serviceConstructor as grpc.ServiceClientConstructor)(target, grpc.credentials.createInsecure());
  return {
    client,
    unary<T>(method: string, request: object, options: { deadlineMs?: number; token?: string } = {}) {
      const metadata = new grpc.Metadata();
      if (options.token) metadata.set("authorization", `Bearer ${options.token}`);
      return new Promise<T>((resolve, reject) => {
        const call = (client as unknown as Record<string, (...args: unknown[]) => void>)[method];
        if (!call) throw new Error(`${service} has no method ${method}`);
        call.call(
          client,
          request,
          metadata,
          { deadline: Date.now() + (options.deadlineMs ?? 5_000) },
          (error: grpc.ServiceError | null, response: T) => (error ? reject(error) : resolve(response)),
        );
      });
    },
    close: () => client.close(),
  };
}

/** A stock grpc-js client and a promise-based way to call its unary methods. */
export interface StockClient {
  readonly client: grpc.Client;
  unary<T>(method: string, request: object, options?: { deadlineMs?: number; token?: string }): Promise<T>;
  close(): void;
}
