import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@shopmesh/gen/grpc/health/v1/health_pb.js";

export { ServingStatus };

/** The state behind grpc.health.v1.Health, shared by both listeners. */
export interface HealthState {
  /** Sets a service's status ("" is the whole server) and notifies watchers. */
  set(service: string, status: ServingStatus): void;
  /** Sets every known service, and the server, to NOT_SERVING (at shutdown). */
  shutdown(): void;
  /** The implementation of grpc.health.v1.Health. */
  readonly impl: ServiceImpl<typeof Health>;
}

/**
 * Creates the health state for a server whose services start NOT_SERVING until the
 * composition root marks them SERVING.
 */
export function createHealthState(services: readonly string[]): HealthState {
  const statuses = new Map<string, ServingStatus>([["", ServingStatus.NOT_SERVING]]);
  for (const service of services) statuses.set(service, ServingStatus.NOT_SERVING);
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const wake of watchers) wake();
  };
  const set = (service: string, status: ServingStatus) => {
    statuses.set(service, status);
    notify();
  };
  const impl: ServiceImpl<typeof Health> = {
    check({ service }) {
      const status = statuses.get(service);
      if (status === undefined) throw new ConnectError(`unknown service ${service}`, Code.NotFound);
      return { status };
    },
    list() {
      return {
        statuses: Object.fromEntries([...statuses].map(([name, status]) => [name, { status }])),
      };
    },
    async *watch({ service }, context) {
      let last: ServingStatus | undefined;
      for (;;) {
        const status = statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (status !== last) {
          last = status;
          yield { status };
        }
        // Ended by its deadline, its client or a shutdown: the stream ends with that
        // status on every listener, never as a watch that finished (OK).
        if (context.signal.aborted) throw ConnectError.from(context.signal.reason);
        await new Promise<void>((resolve) => {
          const wake = () => {
            watchers.delete(wake);
            context.signal.removeEventListener("abort", wake);
            resolve();
          };
          watchers.add(wake);
          context.signal.addEventListener("abort", wake, { once: true });
        });
      }
    },
  };
  return {
    set,
    shutdown() {
      for (const service of statuses.keys()) statuses.set(service, ServingStatus.NOT_SERVING);
      notify();
    },
    impl,
  };
}
