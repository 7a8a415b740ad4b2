import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inventoryService } from "@shopmesh/inventory";
import { orderService } from "@shopmesh/order";
import { paymentService } from "@shopmesh/payment";
import { type ConnectionNeeds, connectionsPerReplica } from "@shopmesh/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { admits } from "../src/network-policy.js";
import { deployDir, type K8sObject, renderKustomization } from "../src/render.js";
import { shutdownBudgetSeconds } from "../src/shutdown-budget.js";

const read = (path: string) => readFileSync(join(deployDir, path), "utf8");
const services = { order: 50051, inventory: 50052, payment: 50053 } as const;
const workloads = ["order", "inventory", "payment", "storefront"] as const;
const crdGroups = ["postgresql.cnpg.io/v1"];
const definitions: Record<keyof typeof services, ConnectionNeeds> = {
  order: orderService,
  inventory: inventoryService,
  payment: paymentService,
};
/** PostgreSQL 16's defaults: slots kept for superusers, and for pg_use_reserved_connections. */
const postgresDefaults = { superuser_reserved_connections: "3", reserved_connections: "0" };

/**
 * Stream data a checkout leaves on each NATS node: its ~4 events with trace headers,
 * 1.7–2.1 KB as measured (docs/scaling.md, "JetStream"); every node holds every R3 stream.
 */
const streamBytesPerOrder = 2_100;
/** The sustained order rates each overlay's NATS store is sized for (docs/scaling.md, "JetStream"). */
const natsSizedForOrdersPerSecond = { development: 0.5, production: 100 };
const binaryUnits: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** Bytes of a quantity in binary units, as Kubernetes and nats-server read `160Gi`. */
function bytesOf(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|Ti)$/.exec(quantity);
  if (!match) throw new Error(`not a quantity in Ki/Mi/Gi/Ti: ${quantity}`);
  return Number(match[1]) * (binaryUnits[match[2] ?? ""] ?? Number.NaN);
}

/** Pods a rolling update may add over the Deployment's replicas (maxSurge; Kubernetes rounds a percentage up). */
function surge(deployment: K8sObject, replicas: number): number {
  const maxSurge: number | string = deployment.spec.strategy?.rollingUpdate?.maxSurge ?? "25%";
  return typeof maxSurge === "number" ? maxSurge : Math.ceil((replicas * Number.parseInt(maxSurge, 10)) / 100);
}

/** A rule of a Prometheus scrape's relabel_configs, as the pod scrape uses them. */
interface RelabelRule {
  readonly source_labels: readonly string[];
  readonly regex?: string;
  readonly action?: "keep" | "drop" | "replace";
  readonly target_label?: string;
}

/**
 * The job Prometheus's pod scrape gives a running pod's container port, or undefined
 * when a rule drops it.
 */
function scrapedAs(rules: readonly RelabelRule[], labels: Record<string, string>, portName: string) {
  const meta: Record<string, string> = { __meta_kubernetes_pod_container_port_name: portName };
  for (const [name, value] of Object.entries(labels)) {
    meta[`__meta_kubernetes_pod_label_${name.replace(/[^a-zA-Z0-9_]/g, "_")}`] = value;
  }
  meta.__meta_kubernetes_pod_phase = "Running";
  const target: Record<string, string> = {};
  for (const rule of rules) {
    const value = rule.source_labels.map((label) => meta[label] ?? "").join(";");
    const match = new RegExp(`^(?:${rule.regex ?? "(.*)"})$`).exec(value);
    if (rule.action === "keep" && !match) return undefined;
    if (rule.action === "drop" && match) return undefined;
    if ((rule.action ?? "replace") === "replace" && match && rule.target_label === "job") target.job = match[1] ?? "";
  }
  return target;
}

for (const overlay of ["development", "production"] as const) {
  describe(`overlays/${overlay}`, () => {
    let objects: K8sObject[];
    const find = (kind: string, name: string) => {
      const found = objects.find((object) => object.kind === kind && object.metadata.name.startsWith(name));
      if (!found) throw new Error(`no ${kind} ${name} in overlays/${overlay}`);
      return found;
    };
    const podLabels = (name: string) => find("Deployment", name).spec.template.metadata.labels;

    beforeAll(() => {
      objects = renderKustomization(`overlays/${overlay}`);
    });

    it("renders, everything in one namespace", () => {
      expect(objects.length).toBeGreaterThan(40);
      const namespace = overlay === "production" ? "shopmesh" : "shopmesh-dev";
      for (const object of objects.filter((candidate) => candidate.kind !== "Namespace"))
        expect(`${object.kind}/${object.metadata.name} ${object.metadata.namespace}`).toBe(
          `${object.kind}/${object.metadata.name} ${namespace}`,
        );
    });

    it("every built-in object is valid against the Kubernetes schemas", async () => {
      const problems: string[] = [];
      for (const object of objects) {
        if (crdGroups.includes(object.apiVersion)) continue;
        const model = await import(/* @vite-ignore */ `kubernetes-models/${object.apiVersion}/${object.kind}`).catch(
          () => undefined,
        );
        if (!model) {
          problems.push(`no schema for ${object.apiVersion} ${object.kind}`);
          continue;
        }
        try {
          new model[object.kind](object).validate();
        } catch (error) {
          problems.push(`${object.kind}/${object.metadata.name}: ${(error as Error).message}`);
        }
      }
      expect(problems).toEqual([]);
    });

    it("runs at least two replicas of every workload, spread over nodes, with a PDB and a CPU autoscaler", () => {
      for (const name of workloads) {
        const deployment = find("Deployment", name);
        expect(deployment.spec.replicas, name).toBeGreaterThanOrEqual(2);
        const spread = deployment.spec.template.spec.topologySpreadConstraints;
        expect(spread.map((constraint: { topologyKey: string }) => constraint.topologyKey)).toEqual([
          "kubernetes.io/hostname",
          "topology.kubernetes.io/zone",
        ]);
        const hpa = find("HorizontalPodAutoscaler", name);
        expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name });
        expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
        expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
        expect(hpa.spec.metrics).toContainEqual(
          expect.objectContaining({ type: "Resource", resource: expect.objectContaining({ name: "cpu" }) }),
        );
        const pdb = find("PodDisruptionBudget", name);
        expect(pdb.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": name });
        expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
      }
    });

    it("spreads over the nodes a pod can run on, not over tainted or cordoned ones", () => {
      // By default (nodeTaintsPolicy: Ignore) a node the pods cannot run on — a tainted
      // control-plane node, a node cordoned for a drain — still counts as a domain with
      // no pods, so under DoNotSchedule and maxSkew 1 every other node may hold at most
      // one: a rolling update's surge pod, an autoscaler's extra replicas or the pods of
      // a drained node stay Pending (kubernetes/kubernetes#116118, #106127).
      const spreads = objects.flatMap((object) => {
        const pod = object.kind === "Cluster" ? object.spec : object.spec?.template?.spec;
        return (pod?.topologySpreadConstraints ?? []).map((constraint: Record<string, unknown>) => ({
          where: `${object.kind}/${object.metadata.name} ${constraint.topologyKey}`,
          constraint,
        }));
      });
      expect(spreads.length).toBeGreaterThanOrEqual(6);
      for (const { where, constraint } of spreads) expect(constraint.nodeTaintsPolicy, where).toBe("Honor");
    });

    it("gives every container requests, limits and a locked-down securityContext", () => {
      for (const workload of objects.filter((object) =>
        ["Deployment", "StatefulSet", "CronJob"].includes(object.kind),
      )) {
        const pod = (workload.kind === "CronJob" ? workload.spec.jobTemplate.spec : workload.spec).template.spec;
        expect(pod.securityContext?.runAsNonRoot, workload.metadata.name).toBe(true);
        expect(pod.securityContext?.seccompProfile?.type, workload.metadata.name).toBe("RuntimeDefault");
        for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
          const where = `${workload.metadata.name}/${container.name}`;
          expect(Object.keys(container.resources?.requests ?? {}).sort(), where).toEqual(["cpu", "memory"]);
          expect(Object.keys(container.resources?.limits ?? {}).sort(), where).toEqual(["cpu", "memory"]);
          expect(container.securityContext, where).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          });
        }
      }
    });

    it("probes each service natively over grpc.health.v1 and lets it drain before it is killed", () => {
      const config = find("ConfigMap", "shopmesh-config");
      for (const [name, port] of Object.entries(services)) {
        const pod = find("Deployment", name).spec.template.spec;
        const container = pod.containers[0];
        for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"])
          expect(container[probe].grpc, `${name} ${probe}`).toEqual({ port });
        expect(container.ports).toContainEqual({ name: "metrics", containerPort: 9464 });
        const preStop = container.lifecycle.preStop.sleep.seconds;
        const env = Object.fromEntries(
          container.env
            .filter((variable: { value?: string }) => variable.value !== undefined)
            .map((variable: { name: string; value: string }) => [variable.name, variable.value]),
        );
        const budget = shutdownBudgetSeconds(name, { ...config.data, ...env });
        expect(pod.terminationGracePeriodSeconds, name).toBeGreaterThanOrEqual(preStop + budget);
        expect(pod.initContainers[0].args).toEqual([`services/${name}/dist/migrate.js`]);
      }
    });

    it("balances gRPC per call: order reaches inventory through a headless Service", () => {
      const env = find("Deployment", "order").spec.template.spec.containers[0].env;
      const target = env.find((variable: { name: string }) => variable.name === "INVENTORY_TARGET").value;
      expect(target).toBe("dns:///inventory-headless:50052");
      const headless = find("Service", "inventory-headless");
      expect(headless.spec.clusterIP).toBe("None");
      expect(headless.spec.selector).toEqual({ "app.kubernetes.io/name": "inventory" });
    });

    it("lets only order call inventory and payment, and the storefront only the public Connect listeners", () => {
      const policies = objects.filter((object) => object.kind === "NetworkPolicy");
      const [order, inventory, payment, storefront] = workloads.map(podLabels);
      expect(admits(policies, order, inventory, 50052)).toBe(true);
      expect(admits(policies, order, payment, 50053)).toBe(true);
      expect(admits(policies, storefront, order, 8081)).toBe(true);
      expect(admits(policies, storefront, inventory, 8082)).toBe(true);
      expect(admits(policies, storefront, inventory, 50052)).toBe(false);
      expect(admits(policies, storefront, payment, 50053)).toBe(false);
      expect(admits(policies, storefront, payment, 8083)).toBe(false);
      expect(admits(policies, payment, inventory, 50052)).toBe(false);
      expect(admits(policies, inventory, payment, 50053)).toBe(false);
      expect(admits(policies, { app: "anything-else" }, order, 50051)).toBe(false);
      const prometheus = podLabels("prometheus");
      for (const name of Object.keys(services)) expect(admits(policies, prometheus, podLabels(name), 9464)).toBe(true);
    });

    it("keeps the services' connections within PostgreSQL's max_connections at the autoscalers' maximum", () => {
      const parameters = { ...postgresDefaults, ...find("Cluster", "shopmesh-pg").spec.postgresql.parameters };
      const available =
        Number(parameters.max_connections) -
        Number(parameters.superuser_reserved_connections) -
        Number(parameters.reserved_connections);
      const settings = find("ConfigMap", "shopmesh-config").data ?? {};
      const demand = Object.entries(definitions).map(([name, definition]) => {
        const deployment = find("Deployment", name);
        const env = Object.fromEntries(
          deployment.spec.template.spec.containers[0].env
            .filter((variable: { value?: string }) => variable.value !== undefined)
            .map((variable: { name: string; value: string }) => [variable.name, variable.value]),
        );
        const perReplica = connectionsPerReplica(definition, { ...settings, ...env });
        // At the maximum, a rolling update still starts its surge pod before an old one goes.
        const maxReplicas = find("HorizontalPodAutoscaler", name).spec.maxReplicas;
        const pods = maxReplicas + surge(deployment, maxReplicas);
        return { name, perReplica, pods, connections: pods * perReplica };
      });
      const total = demand.reduce((sum, { connections }) => sum + connections, 0);
      expect(total, JSON.stringify(demand)).toBeLessThanOrEqual(available);
    });

    it("names the deployment environment in the services' telemetry", () => {
      const settings = find("ConfigMap", "shopmesh-config").data ?? {};
      // Unset, the services report "development".
      expect(settings.DEPLOYMENT_ENVIRONMENT).toBe(overlay === "production" ? "production" : undefined);
    });

    it("rolls the NATS nodes when their configuration changes, each keeping its own until then", () => {
      // A generated name with a content hash: a node restarted before its turn in the
      // rollout finds the configuration it started with, never the new one half-applied.
      const config = find("ConfigMap", "nats-config");
      expect(config.metadata.name).toMatch(/^nats-config-[a-z0-9]{10}$/);
      const volumes = find("StatefulSet", "nats").spec.template.spec.volumes;
      expect(volumes).toContainEqual({ name: "config", configMap: { name: config.metadata.name } });
    });

    it("rolls the services when their settings change, every replica on the same ones", () => {
      // Variables are read when a container starts: under a fixed name, a changed
      // shopmesh-config reaches only pods started afterwards (a scale-up, a crash), so
      // replicas run with different pool sizes, log levels or token issuers until someone
      // restarts the rest. A content hash in the name makes the change a rollout.
      const config = find("ConfigMap", "shopmesh-config");
      expect(config.metadata.name).toMatch(/^shopmesh-config-[a-z0-9]{10}$/);
      const workloads = objects.filter((object) => ["Deployment", "CronJob"].includes(object.kind));
      const users = workloads.filter((workload) => JSON.stringify(workload).includes('"shopmesh-config'));
      expect(users.map((workload) => workload.metadata.name).sort()).toEqual(
        ["inventory", "order", "payment", ...(overlay === "production" ? ["seed-catalog"] : [])].sort(),
      );
      for (const workload of users) {
        const pod = (workload.kind === "CronJob" ? workload.spec.jobTemplate.spec : workload.spec).template.spec;
        for (const container of [...(pod.initContainers ?? []), ...pod.containers])
          expect(container.envFrom, `${workload.metadata.name}/${container.name}`).toContainEqual({
            configMapRef: { name: config.metadata.name },
          });
      }
    });

    it("configures nats-server with what its ConfigMap mounts (nats-server -t)", () => {
      const dir = mkdtempSync(join(tmpdir(), "shopmesh-nats-conf-"));
      try {
        for (const [file, text] of Object.entries(find("ConfigMap", "nats-config").data ?? {}))
          writeFileSync(join(dir, file), text);
        const checked = spawnSync("nats-server", ["-t", "-c", join(dir, "nats.conf")], {
          encoding: "utf8",
          env: { ...process.env, POD_NAME: "nats-0" },
        });
        expect(`${checked.stdout}${checked.stderr}`).toContain("is valid");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("runs NATS as a 3-node JetStream cluster with R3 streams", () => {
      const nats = find("StatefulSet", "nats");
      expect(nats.spec.replicas).toBe(3);
      const conf = find("ConfigMap", "nats-config").data?.["nats.conf"] ?? "";
      expect(conf).toMatch(/jetstream \{/);
      expect(conf.match(/nats:\/\/nats-\d\.nats-headless:6222/g)).toHaveLength(3);
      const config = find("ConfigMap", "shopmesh-config").data ?? {};
      expect(config.NATS_STREAM_REPLICAS).toBe("3");
      expect(config.NATS_URL?.split(",")).toHaveLength(3);
      expect(find("PodDisruptionBudget", "nats").spec.maxUnavailable).toBe(1);
    });

    it("sizes each NATS node's store for NATS_STREAM_MAX_AGE_DAYS of its stated order rate, on a larger volume", () => {
      const nats = find("StatefulSet", "nats");
      const config = find("ConfigMap", "nats-config");
      expect(config.data?.["nats.conf"]).toMatch(/^\s*include \.\/jetstream-store\.conf$/m);
      const maxFileStore = bytesOf(
        /^\s*max_file_store:\s*(\S+)/m.exec(config.data?.["jetstream-store.conf"] ?? "")?.[1] ?? "",
      );
      const days = Number(find("ConfigMap", "shopmesh-config").data?.NATS_STREAM_MAX_AGE_DAYS ?? 7);
      const needed = natsSizedForOrdersPerSecond[overlay] * streamBytesPerOrder * days * 24 * 60 * 60;
      expect(maxFileStore, `max_file_store for ${days} days`).toBeGreaterThanOrEqual(needed);
      const volume = nats.spec.volumeClaimTemplates.find((claim: K8sObject) => claim.metadata.name === "data").spec
        .resources.requests.storage;
      expect(bytesOf(volume), "the data PVC").toBeGreaterThan(maxFileStore);
    });

    it("gives each service its own database and role on the CloudNativePG cluster", () => {
      const cluster = find("Cluster", "shopmesh-pg");
      expect(cluster.spec.instances).toBe(overlay === "production" ? 3 : 1);
      const roles = cluster.spec.managed.roles.map((role: { name: string }) => role.name);
      expect(roles.sort()).toEqual(Object.keys(services).sort());
      for (const name of Object.keys(services)) {
        expect(find("Database", `shopmesh-${name}`).spec).toEqual({
          cluster: { name: "shopmesh-pg" },
          name: `shopmesh_${name}`,
          owner: name,
        });
        const env = find("Deployment", name).spec.template.spec.containers[0].env;
        const url = env.find((variable: { name: string }) => variable.name === "DATABASE_URL").value;
        expect(url).toMatch(
          new RegExp(`^postgres://${name}:\\$\\(DB_PASSWORD\\)@shopmesh-pg-rw:5432/shopmesh_${name}\\?`),
        );
      }
    });

    it("scrapes metrics and sends traces to the in-cluster backends", () => {
      const config = find("ConfigMap", "shopmesh-config").data ?? {};
      expect(config.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://jaeger:4318");
      const scrape = find("ConfigMap", "prometheus-config").data?.["prometheus.yml"] ?? "";
      expect(scrape).toContain("regex: metrics");
      // The dashboards and alerts of deploy/observability select by job = the service's name.
      expect(scrape).toMatch(
        /__meta_kubernetes_pod_label_app_kubernetes_io_name\]\n\s+regex: \(\.\+\)\n\s+target_label: job/,
      );
      // Alert rules and dashboards come from deploy/observability's files, not copies.
      expect(scrape).toContain("/etc/prometheus/rules/alerts.yml");
      const generated = (prefix: string) =>
        objects.find((object) => object.kind === "ConfigMap" && object.metadata.name.startsWith(`${prefix}-`));
      const rules = generated("prometheus-rules");
      const dashboards = generated("shopmesh-grafana-dashboards");
      expect(rules?.data?.["alerts.yml"]).toBe(read("observability/prometheus/alerts.yml"));
      expect(Object.keys(dashboards?.data ?? {}).sort()).toEqual(["mesh-overview.json", "runtime.json"]);
      const prometheus = find("Deployment", "prometheus").spec.template.spec;
      expect(prometheus.volumes).toContainEqual({ name: "rules", configMap: { name: rules?.metadata.name } });
      const grafana = find("Deployment", "grafana").spec.template.spec;
      expect(grafana.volumes).toContainEqual({ name: "dashboards", configMap: { name: dashboards?.metadata.name } });
    });

    it("scrapes PostgreSQL's own metrics: each CloudNativePG instance as job postgresql, through its NetworkPolicy", () => {
      const scrape = parseYaml(find("ConfigMap", "prometheus-config").data?.["prometheus.yml"] ?? "");
      const [job] = scrape.scrape_configs as { relabel_configs: RelabelRule[] }[];
      // An instance pod as the operator makes it: the Cluster's inherited labels and its
      // own; the exporter's port is named metrics (CloudNativePG's monitoring docs).
      const cluster = find("Cluster", "shopmesh-pg");
      const instance = { ...cluster.spec.inheritedMetadata?.labels, "cnpg.io/cluster": "shopmesh-pg" };
      expect(scrapedAs(job?.relabel_configs ?? [], instance, "metrics")).toEqual({ job: "postgresql" });
      expect(scrapedAs(job?.relabel_configs ?? [], instance, "postgresql")).toBeUndefined();
      const policies = objects.filter((object) => object.kind === "NetworkPolicy");
      expect(admits(policies, podLabels("prometheus"), instance, 9187)).toBe(true);
      expect(admits(policies, podLabels("storefront"), instance, 9187)).toBe(false);
    });

    it("has a way to load the catalog: seeded at start in development, a Job on demand in production", () => {
      const envOf = (container: { env: { name: string; value?: string }[] }) =>
        Object.fromEntries(container.env.map((variable) => [variable.name, variable.value]));
      const inventory = find("Deployment", "inventory").spec.template.spec.containers[0];
      if (overlay === "development") {
        // As compose does: no RPC creates products, so without a catalog every order is NOT_FOUND.
        expect(envOf(inventory).SEED_CATALOG).toBe("true");
        return;
      }
      expect(envOf(inventory).SEED_CATALOG).toBeUndefined();
      const cronJob = find("CronJob", "seed-catalog");
      // A template for `kubectl create job --from=cronjob/seed-catalog`, never run on a schedule.
      expect(cronJob.spec.suspend).toBe(true);
      const pod = cronJob.spec.jobTemplate.spec.template;
      const seed = pod.spec.containers[0];
      expect(seed.image).toBe(inventory.image);
      expect(seed.args).toEqual(["services/inventory/dist/seed-cli.js"]);
      expect(existsSync(join(deployDir, "../services/inventory/src/seed-cli.ts"))).toBe(true);
      expect(envOf(seed).DATABASE_URL).toBe(envOf(inventory).DATABASE_URL);
      expect(seed.env[0]).toEqual(inventory.env[0]);
      const policies = objects.filter((object) => object.kind === "NetworkPolicy");
      expect(admits(policies, pod.metadata.labels, { "cnpg.io/cluster": "shopmesh-pg" }, 5432)).toBe(true);
    });

    it("mounts the storefront's config.json from a ConfigMap: RPCs to the page's own origin", () => {
      const pod = find("Deployment", "storefront").spec.template.spec;
      const mount = pod.containers[0].volumeMounts.find(
        (candidate: { mountPath: string }) => candidate.mountPath === "/usr/share/nginx/html/config.json",
      );
      expect(mount).toMatchObject({ subPath: "config.json", readOnly: true });
      const volume = pod.volumes.find((candidate: { name: string }) => candidate.name === mount.name);
      const configMap = objects.find(
        (object) => object.kind === "ConfigMap" && object.metadata.name === volume?.configMap?.name,
      );
      const config = JSON.parse(configMap?.data?.["config.json"] ?? "null");
      // The page is wherever the edge serves the storefront; nginx proxies the RPCs there.
      const page =
        overlay === "production"
          ? `https://${find("Ingress", "storefront").spec.rules[0].host}/`
          : "http://localhost:8080/";
      for (const url of [config.orderUrl, config.catalogUrl])
        expect(new URL(url, page).origin).toBe(new URL(page).origin);
      const settings = find("ConfigMap", "shopmesh-config").data ?? {};
      if (overlay === "production") {
        // Sign-in at the provider whose tokens the services accept.
        const issuer = new URL(settings.AUTH_ISSUER ?? "").origin;
        expect(config.identity).toMatchObject({
          kind: "oidc",
          clientId: expect.any(String),
          audience: settings.AUTH_AUDIENCE,
        });
        expect(new URL(config.identity.authorizeUrl).origin).toBe(issuer);
        expect(new URL(config.identity.tokenUrl).origin).toBe(issuer);
        expect(new URL(settings.AUTH_JWKS_URL ?? "").origin).toBe(issuer);
      } else {
        // No token endpoint in the cluster: the image's own configuration, sign-in off.
        expect(config).toEqual(JSON.parse(read("docker/storefront-config.json")));
        expect(config.identity).toEqual({ kind: "none" });
      }
    });

    if (overlay === "production") {
      it("holds no development signing key and verifies tokens against a JWKS", () => {
        const text = JSON.stringify(objects);
        expect(text).not.toContain("AUTH_DEV_KEY");
        expect(find("ConfigMap", "shopmesh-config").data?.AUTH_JWKS_URL).toMatch(/^https:\/\//);
        for (const name of workloads)
          expect(find("Deployment", name).spec.template.spec.containers[0].image).toMatch(
            /^registry\.example\.com\/.+:\d/,
          );
      });

      it("scales on CPU alone: an HPA missing one of its metrics never scales down", () => {
        for (const hpa of objects.filter((object) => object.kind === "HorizontalPodAutoscaler"))
          expect(
            hpa.spec.metrics.map((metric: { type: string }) => metric.type),
            hpa.metadata.name,
          ).toEqual(["Resource"]);
      });
    }
  });
}

describe("overlays/production-lag-autoscaling", () => {
  it("is production with the services' autoscalers also on JetStream consumer lag", () => {
    const production = renderKustomization("overlays/production");
    const lagged = renderKustomization("overlays/production-lag-autoscaling");
    const key = (object: K8sObject) => `${object.kind}/${object.metadata.name}`;
    expect(lagged.map(key).sort()).toEqual(production.map(key).sort());
    for (const name of ["order", "inventory", "payment"]) {
      const hpa = lagged.find((object) => key(object) === `HorizontalPodAutoscaler/${name}`);
      expect(hpa?.spec.metrics, name).toContainEqual({
        type: "External",
        external: expect.objectContaining({
          metric: { name: "jetstream_consumer_num_pending", selector: { matchLabels: { consumer_name: name } } },
        }),
      });
    }
  });
});
