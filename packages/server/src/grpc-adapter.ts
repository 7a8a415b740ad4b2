import { type DescMethod, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import type {
  Server,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { cancelledAtDeadline } from "@shopmesh/telemetry";
import { grpcMetadata, headersFromMetadata } from "./grpc-metadata.js";
import { toGrpcServiceError } from "./grpc-status.js";
import { invokeWithInterceptors } from "./invoke.js";
import type { ServiceRegistration } from "./service-registration.js";

type Message = MessageShape<DescMethod["input"]>;
/** A call as grpc-js hands it over: the request still in its bytes (see decodeRequest). */
type GrpcCall = ServerUnaryCall<Buffer, Message> | ServerWritableStream<Buffer, Message>;

/**
 * Why a finished call's context is aborted (to release its listeners), and why a call's
 * request signal is when grpc-js reports it cancelled: by the client, or because its
 * deadline passed — the status the client then sees, which the telemetry interceptor
 * records from the signal (connect-node's signals carry such ConnectErrors too).
 * Passing a ready-made reason spares Node building an AbortError with a stack each time.
 */
const callFinished = new Error("call finished");
const callCancelled = new ConnectError("call cancelled by the client", Code.Canceled);
const deadlinePassed = new ConnectError("the deadline passed", Code.DeadlineExceeded);
type AnyImpl = Parameters<typeof invokeWithInterceptors>[1];

/**
 * Adds a service to a grpc-js server straight from its protobuf-es descriptor: no
 * proto-loader, no second code generator. Requests run through the same Connect
 * interceptors and implementation that connect-node serves.
 */
export function addGrpcService(
  server: Server,
  registration: ServiceRegistration,
  interceptors: readonly Interceptor[],
  shutdownSignal: AbortSignal,
): void {
  const definition: Record<string, ServiceDefinition[string]> = {};
  const handlers: UntypedServiceImplementation = {};
  for (const method of registration.service.methods) {
    const impl = registration.impl[method.localName] as AnyImpl | undefined;
    if (impl === undefined) continue;
    definition[method.localName] = {
      path: `/${registration.service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: method.methodKind === "server_streaming",
      requestSerialize: (message: Message) => toBuffer(toBinary(method.input, message)),
      // Decoded by the handler: grpc-js answers a deserializer's error INTERNAL, and
      // malformed bytes from a client are INVALID_ARGUMENT.
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (message: Message) => toBuffer(toBinary(method.output, message)),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
      originalName: method.localName,
    };
    const call = { method, impl, interceptors, shutdownSignal };
    switch (method.methodKind) {
      case "unary":
        handlers[method.localName] = unaryHandler(call);
        break;
      case "server_streaming":
        handlers[method.localName] = serverStreamingHandler(call);
        break;
      default:
        throw new Error(`${method.methodKind} RPCs are not served: ${registration.service.typeName}.${method.name}`);
    }
  }
  server.addService(definition, handlers);
}

interface MethodCall {
  readonly method: DescMethod;
  readonly impl: AnyImpl;
  readonly interceptors: readonly Interceptor[];
  readonly shutdownSignal: AbortSignal;
}

function unaryHandler({ method, impl, interceptors, shutdownSignal }: MethodCall) {
  return (call: ServerUnaryCall<Buffer, Message>, callback: sendUnaryData<Message>) => {
    const context = handlerContext(method, call, shutdownSignal);
    const fail = (error: unknown) => {
      callback(toGrpcServiceError(error, context.responseTrailer));
      context.finish();
    };
    let request: Message;
    try {
      request = decodeRequest(method, call.request);
    } catch (error) {
      return fail(error);
    }
    // An answer that comes after the call's deadline or its cancellation is refused by
    // the error interceptor (errors.ts), before grpc-js's own deadline timer has fired.
    invokeWithInterceptors(method, impl, context, request, interceptors).then(({ messages, header, trailer }) => {
      sendHeader(call, header);
      callback(null, messages as Message, grpcMetadata(trailer));
      context.finish();
    }, fail);
  };
}

function serverStreamingHandler({ method, impl, interceptors, shutdownSignal }: MethodCall) {
  return (call: ServerWritableStream<Buffer, Message>) => {
    const context = handlerContext(method, call, shutdownSignal);
    const run = async () => {
      const { messages, header, trailer } = await invokeWithInterceptors(
        method,
        impl,
        context,
        decodeRequest(method, call.request),
        interceptors,
      );
      sendHeader(call, header);
      for await (const message of messages as AsyncIterable<Message>) {
        if (call.cancelled) return;
        if (!call.write(message)) await drained(call, context.signal);
      }
      call.end(grpcMetadata(trailer));
    };
    run().then(
      () => context.finish(),
      (error: unknown) => {
        if (!call.cancelled) call.emit("error", toGrpcServiceError(error, context.responseTrailer));
        context.finish();
      },
    );
  };
}

/** The request message; malformed bytes are the client's error (INVALID_ARGUMENT). */
function decodeRequest(method: DescMethod, bytes: Buffer): Message {
  try {
    return fromBinary(method.input, bytes);
  } catch (error) {
    throw new ConnectError(`malformed request: ${String((error as Error).message)}`, Code.InvalidArgument);
  }
}

function handlerContext(
  method: DescMethod,
  call: GrpcCall,
  shutdownSignal: AbortSignal,
): HandlerContext & { finish(): void } {
  const requestAbort = new AbortController();
  const deadline = Number(call.getDeadline());
  // grpc-js reports a call past its deadline as cancelled too, often before the
  // context's own deadline timer fires.
  const cancelled = () =>
    requestAbort.abort(cancelledAtDeadline(Date.now(), deadline) ? deadlinePassed : callCancelled);
  call.once("cancelled", cancelled);
  const context = createHandlerContext({
    service: method.parent,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: `/${method.parent.typeName}/${method.name}`,
    timeoutMs: Number.isFinite(deadline) ? Math.max(deadline - Date.now(), 0) : undefined,
    requestSignal: requestAbort.signal,
    shutdownSignal,
    requestHeader: requestHeader(call, deadline),
  });
  return Object.assign(context, {
    /**
     * Ends the call's context. grpc-js emits "cancelled" once it has sent a call's
     * status, whatever it was; a finished call has nothing left to cancel.
     */
    finish() {
      call.off("cancelled", cancelled);
      context.abort(callFinished);
    },
  });
}

/**
 * The request's headers as interceptors see them on the Connect listener. grpc-js takes
 * `content-type` and `grpc-timeout` out of the metadata; without the deadline, the error
 * interceptor would let an answer ready after it go out as OK (errors.ts).
 */
function requestHeader(call: GrpcCall, deadline: number): Headers {
  const header = headersFromMetadata(call.metadata);
  header.set("content-type", "application/grpc");
  if (Number.isFinite(deadline)) header.set("grpc-timeout", grpcTimeout(deadline - Date.now()));
  return header;
}

/** `grpc-timeout` allows 8 digits: milliseconds up to about 27 hours, seconds beyond. */
function grpcTimeout(ms: number): string {
  const whole = Math.max(Math.ceil(ms), 0);
  return whole < 1e8 ? `${whole}m` : `${Math.ceil(whole / 1000)}S`;
}

function sendHeader(call: GrpcCall, header: Headers) {
  let empty = true;
  header.forEach(() => {
    empty = false;
  });
  if (!empty) call.sendMetadata(grpcMetadata(header));
}

function drained(call: ServerWritableStream<Buffer, Message>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
