import { create, type DescMessage, type DescMethod, isMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type HandlerContext,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";

type AnyImpl = (input: unknown, context: HandlerContext) => unknown;
type Next = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;

/** The outcome of a call: its output messages and the headers/trailers interceptors set. */
export interface InvokeResult {
  readonly messages: AsyncIterable<MessageShape<DescMessage>> | MessageShape<DescMessage>;
  readonly header: Headers;
  readonly trailer: Headers;
}

/**
 * Runs a method implementation behind Connect interceptors for a transport that is
 * not connect-node (grpc-js), so that validation, errors, identity and tracing are
 * written once as interceptors and apply on every listener.
 */
export async function invokeWithInterceptors(
  method: DescMethod,
  impl: AnyImpl,
  context: HandlerContext,
  input: MessageShape<DescMessage>,
  interceptors: readonly Interceptor[],
): Promise<InvokeResult> {
  const common = {
    service: method.parent,
    requestMethod: context.requestMethod,
    url: context.url,
    signal: context.signal,
    header: context.requestHeader,
    contextValues: context.values,
  };
  const streaming = method.methodKind === "server_streaming";
  const innermost: Next = async (req) => {
    const message = await firstMessage(req);
    const output = impl(message, {
      ...context,
      signal: req.signal,
      requestHeader: req.header,
      values: req.contextValues,
    });
    const response = {
      service: method.parent,
      header: context.responseHeader,
      trailer: context.responseTrailer,
    };
    if (streaming) {
      return {
        ...response,
        stream: true,
        method,
        message: normalizeAll(method.output, output as AsyncIterable<unknown>),
      } as StreamResponse;
    }
    return { ...response, stream: false, method, message: normalize(method.output, await output) } as UnaryResponse;
  };
  const chain = interceptors.reduceRight<Next>((next, interceptor) => interceptor(next) as Next, innermost);
  const request = streaming
    ? ({ ...common, stream: true, method, message: single(input) } as StreamRequest)
    : ({ ...common, stream: false, method, message: input } as UnaryRequest);
  const response = await chain(request);
  return { messages: response.message, header: response.header, trailer: response.trailer };
}

async function firstMessage(req: UnaryRequest | StreamRequest): Promise<unknown> {
  if (!req.stream) return req.message;
  for await (const message of req.message) return message;
  throw new ConnectError("missing input message", Code.InvalidArgument);
}

async function* single<T>(value: T): AsyncIterable<T> {
  yield value;
}

function normalize(schema: DescMessage, value: unknown): MessageShape<DescMessage> {
  return isMessage(value, schema) ? value : create(schema, value as never);
}

async function* normalizeAll(schema: DescMessage, values: AsyncIterable<unknown>) {
  for await (const value of values) yield normalize(schema, value);
}
