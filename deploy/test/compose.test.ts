import { describe, expect, it } from "vitest";
import { deployDir, renderCompose } from "../src/render.js";
import { shutdownBudgetSeconds } from "../src/shutdown-budget.js";

describe("deploy/compose.yaml", () => {
  const compose = renderCompose();
  const ours = ["order", "inventory", "payment", "storefront"];

  it("is valid Compose and runs the whole stack", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ["grafana", "inventory", "jaeger", "nats", "order", "payment", "postgres", "prometheus", "storefront"].sort(),
    );
  });

  it("health-checks every container and starts each after what it needs is healthy", () => {
    for (const [name, service] of Object.entries<{ healthcheck?: { test: string[] } }>(compose.services))
      expect(service.healthcheck?.test?.length, name).toBeGreaterThan(1);
    for (const name of ["order", "inventory", "payment"]) {
      expect(compose.services[name].depends_on.postgres.condition).toBe("service_healthy");
      expect(compose.services[name].depends_on.nats.condition).toBe("service_healthy");
    }
    expect(compose.services.order.depends_on.inventory.condition).toBe("service_healthy");
  });

  it("runs our images read-only, without capabilities, built from the repository", () => {
    for (const name of ours) {
      const service = compose.services[name];
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(["ALL"]);
      expect(service.security_opt, name).toEqual(["no-new-privileges:true"]);
      expect(service.build.context.replace(/\/$/, ""), name).toBe(deployDir.replace(/\/deploy\/?$/, ""));
    }
    for (const name of ["order", "inventory", "payment"]) expect(compose.services[name].build.args.SERVICE).toBe(name);
  });

  it("wires the services to PostgreSQL, JetStream, tracing and metrics", () => {
    const env = compose.services.order.environment;
    expect(env.DATABASE_URL).toBe("postgres://shopmesh:shopmesh@postgres:5432/shopmesh_order");
    expect(env.NATS_URL).toBe("nats://nats:4222");
    expect(env.INVENTORY_TARGET).toBe("dns:///inventory:50052");
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://jaeger:4318");
    expect(env.OTEL_EXPORTER_PROMETHEUS_PORT).toBe("9464");
    const mounts: string[] = compose.services.grafana.volumes.map((volume: string | { source: string }) =>
      typeof volume === "string" ? volume : volume.source,
    );
    expect(mounts.some((mount) => mount.includes("observability/grafana/provisioning"))).toBe(true);
  });

  it("lets every service finish its shutdown before Docker kills it", () => {
    for (const name of ["order", "inventory", "payment"]) {
      const service = compose.services[name];
      const grace = /^(\d+)s$/.exec(service.stop_grace_period)?.[1];
      expect(Number(grace), name).toBeGreaterThanOrEqual(shutdownBudgetSeconds(name, service.environment));
    }
  });

  it("takes the database password from the environment", () => {
    const overridden = renderCompose({ POSTGRES_PASSWORD: "s3cret" });
    expect(overridden.services.payment.environment.DATABASE_URL).toBe(
      "postgres://shopmesh:s3cret@postgres:5432/shopmesh_payment",
    );
  });
});
