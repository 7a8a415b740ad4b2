import { type Meter, metrics } from "@opentelemetry/api";

/**
 * The meter for shopmesh's own instruments. Without the SDK (tests, OTEL_SDK_DISABLED)
 * it is a no-op, so instruments can be created at module load.
 */
export function createMeter(): Meter {
  return metrics.getMeter("shopmesh");
}
