import { loadConfig } from "@shopmesh/config";
import { type ServiceDefaults, serviceConfigShape } from "./service-config.js";

/** Connections of the outbox relay's pool, in every replica of every service. */
export const relayPoolSize = 2;

/** What of a service decides how many connections one of its replicas opens. */
export interface ConnectionNeeds {
  readonly defaults: ServiceDefaults;
  /** Connections the service opens itself, outside the runtime's pools. */
  readonly ownConnections?: number;
}

/**
 * The most connections to PostgreSQL one replica of a service holds at once, with the
 * configuration `env`: its RPC pool (DB_POOL_SIZE), its consumers' pool
 * (DB_CONSUMER_POOL_SIZE), the outbox relay's pool and those the service opens itself
 * (order's LISTEN connection). The migrations at start use one connection before any
 * pool opens, so they add nothing to the peak. A deployment multiplies this by the most
 * replicas it may run and keeps the sum under PostgreSQL's `max_connections`
 * (docs/scaling.md; deploy/test/k8s-manifests.test.ts checks the manifests).
 */
export function connectionsPerReplica(service: ConnectionNeeds, env: Record<string, string | undefined>): number {
  const shape = serviceConfigShape(service.defaults);
  const pools = loadConfig(
    { DB_POOL_SIZE: shape.DB_POOL_SIZE, DB_CONSUMER_POOL_SIZE: shape.DB_CONSUMER_POOL_SIZE },
    env,
  );
  return pools.DB_POOL_SIZE + pools.DB_CONSUMER_POOL_SIZE + relayPoolSize + (service.ownConnections ?? 0);
}
