export { createConnectHandler } from "./connect-adapter.js";
export { createErrorInterceptor, normalizeError } from "./errors.js";
export { addGrpcService } from "./grpc-adapter.js";
export { createHealthState, type HealthState, ServingStatus } from "./health.js";
export { createLogger } from "./logger.js";
export { type RunningServer, type ServerOptions, splitHostPort, startServer } from "./server.js";
export { type Exposure, registerService, type ServiceRegistration } from "./service-registration.js";
export { onShutdownSignal } from "./shutdown.js";
export { createValidationInterceptor } from "./validation.js";
