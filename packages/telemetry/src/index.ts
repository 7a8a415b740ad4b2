export { type CallerContext, captureCallerContext, outsideAnyTrace, runForCallers } from "./caller-context.js";
export { cancelledAtDeadline, requestTimeoutMs } from "./deadline.js";
export { annotateActiveSpan, traceLogFields } from "./log-context.js";
export {
  type ConsumerStalls,
  consumerStalls,
  type Delivered,
  declareConsumer,
  type MessageRoute,
  type ProcessOutcome,
  startProcess,
  startPublish,
  startSharedWork,
  type TracedProcess,
  type TracedPublish,
  traceContextHeaders,
} from "./messaging.js";
export { createMeter } from "./metrics.js";
export { startClientCall, type TracedClientCall } from "./rpc-client-telemetry.js";
export { createRpcTelemetryInterceptor } from "./rpc-server-telemetry.js";
export { shutdownTelemetry, startTelemetry, type TelemetryIdentity } from "./start-telemetry.js";
