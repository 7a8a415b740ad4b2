export { type ConnectionNeeds, connectionsPerReplica, relayPoolSize } from "./connections.js";
export { migrationDirs, runMigrationsProcess } from "./migrate-service.js";
export {
  type ConsumerSpec,
  type RunningService,
  runService,
  runServiceProcess,
  type ServiceDefinition,
  type ServiceKit,
  type ServiceParts,
} from "./run-service.js";
export { loadServiceConfig, type ServiceConfig, type ServiceDefaults, serviceConfigShape } from "./service-config.js";
export { type ObservedService, observeService } from "./service-metrics.js";
