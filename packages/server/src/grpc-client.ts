import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel as IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { type ChannelOptions, credentials, Client as GrpcClient, Metadata, type ServiceError } from "@grpc/grpc-js";
import { startClientCall } from "@shopmesh/telemetry";
import { fromGrpcServiceError } from "./grpc-status.js";
import { defaultMaxMessageBytes } from "./message-limits.js";

/** Per-call options: every call has a deadline. */
export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly headers?: Record<string, string>;
}

type UnaryMethods<S extends DescService> = {
  [K in keyof S["method"] as S["method"][K] extends { methodKind: "unary" }
    ? K
    : never]: S["method"][K] extends DescMethod & {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : never;
};

/** A promise-based client of a service's unary RPCs over grpc-js. */
export type GrpcServiceClient<S extends DescService> = UnaryMethods<S> & { close(): void };

/** Where and how to call a service. */
export interface GrpcClientOptions {
  /**
   * A grpc target such as "127.0.0.1:50052", "dns:///inventory-headless:50052" (every
   * address the name resolves to) or "ipv4:127.0.0.1:50052,127.0.0.1:50062".
   */
  readonly target: string;
  /** Deadline of calls that set none (default 2 s). */
  readonly defaultTimeoutMs?: number;
  /** Largest message sent or received (default 1 MiB). */
  readonly maxMessageBytes?: number;
  /** Headers sent with every call, such as a service token. */
  readonly headers?: () => Record<string, string>;
}

/**
 * Creates a typed client for a service straight from its protobuf-es descriptor,
 * over grpc-js. Every call carries a deadline; failures are ConnectErrors with the
 * gRPC code. Methods the contract marks idempotent or side-effect free are retried by
 * grpc-js on UNAVAILABLE with exponential backoff (a gRPC service-config retry
 * policy); other calls are never retried automatically. Calls are balanced round-robin
 * over every address the target resolves to, so a headless Service spreads them over
 * all ready pods instead of pinning them to one HTTP/2 connection
 * (docs/decisions/0010-load-balancing-grpc.md).
 */
export function createGrpcClient<S extends DescService>(service: S, options: GrpcClientOptions): GrpcServiceClient<S> {
  const maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
  const channelOptions: ChannelOptions = {
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxMessageBytes,
    "grpc.service_config": JSON.stringify(serviceConfig(service)),
    "grpc.enable_retries": 1,
    // grpc-js backs off up to 120 s between reconnects; a restarted peer would stay
    // unreachable that long. Pods come back in seconds: retry at most every 2 s.
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 2_000,
  };
  const client = new GrpcClient(options.target, credentials.createInsecure(), channelOptions);
  const methods: Record<string, unknown> = { close: () => client.close() };
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const path = `/${service.typeName}/${method.name}`;
    methods[method.localName] = (request: MessageInitShape<DescMessage>, call: CallOptions = {}) =>
      new Promise((resolve, reject) => {
        const traced = startClientCall(service.typeName, method.name, options.target);
        const metadata = new Metadata();
        for (const [key, value] of Object.entries({ ...options.headers?.(), ...call.headers, ...traced.headers }))
          metadata.set(key, value);
        const deadline = Date.now() + (call.timeoutMs ?? options.defaultTimeoutMs ?? 2_000);
        const pending = client.makeUnaryRequest(
          path,
          (message: MessageShape<DescMessage>) => Buffer.from(toBinary(method.input, message)),
          (bytes: Buffer) => fromBinary(method.output, bytes),
          create(method.input, request),
          metadata,
          { deadline },
          (error: ServiceError | null, response?: MessageShape<DescMessage>) => {
            call.signal?.removeEventListener("abort", cancel);
            const failure = error ? fromGrpcServiceError(error) : undefined;
            traced.end(failure);
            if (failure) reject(failure);
            else resolve(response);
          },
        );
        // A signal shared by many calls (a handler's) must not collect a listener per call.
        const cancel = () => pending.cancel();
        if (call.signal?.aborted) cancel();
        else call.signal?.addEventListener("abort", cancel, { once: true });
      });
  }
  return methods as GrpcServiceClient<S>;
}

function serviceConfig(service: DescService) {
  const retryable = service.methods.filter(
    (method) => method.idempotency !== IdempotencyLevel.IDEMPOTENCY_UNKNOWN && method.methodKind === "unary",
  );
  return {
    // grpc-js's default, pick_first, sends every call over one connection to one address.
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: [
      {
        name: retryable.map((method) => ({ service: service.typeName, method: method.name })),
        retryPolicy: {
          maxAttempts: 3,
          initialBackoff: "0.05s",
          maxBackoff: "0.5s",
          backoffMultiplier: 3,
          retryableStatusCodes: ["UNAVAILABLE"],
        },
      },
    ].filter((config) => config.name.length > 0),
  };
}
