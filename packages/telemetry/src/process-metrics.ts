import { metrics } from "@opentelemetry/api";

/**
 * The process's CPU time and resident memory (OpenTelemetry's process.* metrics),
 * which the runtime instrumentation does not report: what a container's limits are
 * set against.
 */
export function observeProcess(): void {
  const meter = metrics.getMeter("@shopmesh/telemetry");
  const cpu = meter.createObservableCounter("process.cpu.time", {
    description: "CPU time of the process by mode (user, system)",
    unit: "s",
  });
  const memory = meter.createObservableGauge("process.memory.usage", {
    description: "Resident set size of the process",
    unit: "By",
  });
  meter.addBatchObservableCallback(
    (result) => {
      const { user, system } = process.cpuUsage();
      result.observe(cpu, user / 1e6, { "cpu.mode": "user" });
      result.observe(cpu, system / 1e6, { "cpu.mode": "system" });
      result.observe(memory, process.memoryUsage.rss());
    },
    [cpu, memory],
  );
}
