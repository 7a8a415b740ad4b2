import { type Meter, metrics } from "@opentelemetry/api";

/**
 * The meter for shopmesh's own instruments. Without the SDK (tests, OTEL_SDK_DISABLED)
 * it is a no-op, so instruments can be created at module load.
 */
export function createMeter(): Meter {
  return metrics.getMeter("shopmesh");
}

/** Bucket bounds of shopmesh's duration histograms, in ms: 1 ms to 5 s, doubling. */
export const durationBucketsMs = [1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120];
