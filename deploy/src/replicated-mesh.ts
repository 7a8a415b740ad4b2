import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { databaseUrl, ensureDatabase } from "@shopmesh/pg";
import pg from "pg";
import {
  dropMeshDatabases,
  type LaunchedMesh,
  launchMesh,
  meshServiceNames,
  type ServiceName,
} from "../../tools/mesh-processes.js";

export type { ServiceName };
export const serviceNames = meshServiceNames;

/** Where one replica of each service listens. */
export interface ReplicaPorts {
  readonly grpcBase: number;
  readonly httpBase: number;
  readonly grpc: Record<ServiceName, number>;
  readonly http: Record<ServiceName, number>;
}

/** Several replicas of every service on one machine, sharing databases and streams. */
export interface ReplicatedMesh {
  readonly replicas: readonly ReplicaPorts[];
  /** The database role replica i connects as (its writes are attributed to it). */
  readonly roles: readonly string[];
  readonly urls: Record<ServiceName, string>;
  /** Kills replica i of every service with SIGKILL, as a crashed pod or node would be. */
  kill(replica: number): void;
  stop(): Promise<void>;
}

/** What to run the replicas against. */
export interface ReplicatedMeshOptions {
  /** Admin URL of PostgreSQL: creates the databases and one role per replica. */
  readonly postgresUrl: string;
  readonly natsUrl: string;
  readonly prefix: string;
  readonly replicas: number;
  readonly authDevKey: string;
  readonly env?: Record<string, string>;
  readonly log: (line: string) => void;
}

/**
 * Starts `replicas` copies of each service as separate processes (tools/mesh-processes),
 * each replica on its own ports and as its own PostgreSQL role. Before they start, the
 * databases are migrated once and instrumented for attribution only: inbox rows record
 * the role that applied the event (`processed_by`) and outbox rows the role whose relay
 * marked them published (`published_by`). Nothing the services read changes.
 * Every order replica calls every inventory replica through one `ipv4:` multi-address
 * target, balanced round-robin by its gRPC client.
 */
export async function startReplicatedMesh(options: ReplicatedMeshOptions): Promise<ReplicatedMesh> {
  const roles = Array.from({ length: options.replicas }, (_, index) => `${options.prefix}_r${index + 1}`);
  const urls = Object.fromEntries(
    serviceNames.map((name) => [name, databaseUrl(options.postgresUrl, `${options.prefix}_${name}`)]),
  ) as Record<ServiceName, string>;
  await prepareDatabases(options, roles, urls);
  const replicas: ReplicaPorts[] = [];
  const taken = new Set<number>();
  for (let index = 0; index < options.replicas; index++) replicas.push(await freeReplicaPorts(taken));
  const inventoryTarget = `ipv4:${replicas.map((ports) => `127.0.0.1:${ports.grpc.inventory}`).join(",")}`;
  const meshes: LaunchedMesh[] = [];
  const killed = new Set<number>();
  // The last lines of every process, to say why a replica did not start.
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line);
    if (recent.length > 40) recent.shift();
    options.log(line);
  };
  const stop = async () => {
    await Promise.all(meshes.map((mesh) => mesh.stop()));
  };
  try {
    for (const [index, ports] of replicas.entries()) {
      const role = roles[index] ?? "";
      const roleUrl = new URL(options.postgresUrl);
      roleUrl.username = role;
      roleUrl.password = "";
      meshes.push(
        await launchMesh({
          postgresUrl: roleUrl.toString(),
          natsUrl: options.natsUrl,
          authDevKey: options.authDevKey,
          databasePrefix: options.prefix,
          grpcBase: ports.grpcBase,
          httpBase: ports.httpBase,
          env: {
            EVENT_NAMESPACE: options.prefix.toUpperCase(),
            INVENTORY_TARGET: inventoryTarget,
            SHUTDOWN_GRACE_MS: "3000",
            LOG_LEVEL: "warn",
            // Replicas would all bind the same Prometheus port, and no collector listens:
            // this run proves behaviour, not telemetry.
            OTEL_METRICS_EXPORTER: "none",
            OTEL_TRACES_EXPORTER: "none",
            ...options.env,
          },
          onLine: (name, line) => remember(`[${name} r${index + 1}] ${line}`),
          onExit: (name, code, signal) => {
            if (!killed.has(index)) remember(`✖ ${name} r${index + 1} exited unexpectedly (${signal ?? code})`);
          },
        }),
      );
    }
  } catch (error) {
    await stop();
    throw new Error(`replicas did not start: ${String(error)}\n${recent.join("\n")}`, { cause: error });
  }
  return {
    replicas,
    roles,
    urls,
    kill(replica) {
      killed.add(replica);
      for (const service of meshes[replica]?.services ?? []) service.process.kill("SIGKILL");
    },
    stop,
  };
}

/** Drops what startReplicatedMesh created in PostgreSQL: the databases and the roles. */
export async function dropReplicatedMeshDatabases(postgresUrl: string, prefix: string, replicas: number) {
  await dropMeshDatabases(postgresUrl, prefix);
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    for (let index = 1; index <= replicas; index++)
      await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(`${prefix}_r${index}`)}`);
  } finally {
    await admin.end();
  }
}

async function prepareDatabases(
  options: ReplicatedMeshOptions,
  roles: readonly string[],
  urls: Record<ServiceName, string>,
) {
  const admin = new pg.Client({ connectionString: options.postgresUrl });
  await admin.connect();
  try {
    for (const role of roles) await admin.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN`);
  } finally {
    await admin.end();
  }
  for (const name of serviceNames) {
    await ensureDatabase(options.postgresUrl, `${options.prefix}_${name}`);
    await migrateOnce(name, urls[name]);
    const db = new pg.Client({ connectionString: urls[name] });
    await db.connect();
    try {
      const grantees = roles.map((role) => pg.escapeIdentifier(role)).join(", ");
      await db.query(`
        ALTER TABLE inbox ADD COLUMN processed_by text NOT NULL DEFAULT current_user;
        ALTER TABLE outbox ADD COLUMN published_by text;
        CREATE FUNCTION mark_publisher() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.published_at IS NOT NULL AND OLD.published_at IS NULL THEN NEW.published_by := current_user; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER mark_publisher BEFORE UPDATE ON outbox FOR EACH ROW EXECUTE FUNCTION mark_publisher();
        GRANT ALL ON SCHEMA public TO ${grantees};
        GRANT ALL ON ALL TABLES IN SCHEMA public TO ${grantees};
        GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${grantees};`);
    } finally {
      await db.end();
    }
  }
}

/** Applies a service's migrations with its own migrate entry point (the init container's). */
function migrateOnce(name: ServiceName, url: string): Promise<void> {
  const entry = fileURLToPath(new URL(`../../services/${name}/src/migrate.ts`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@shopmesh/source", "--import", "tsx", entry], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${name} migrations: ${stderr}`))));
  });
}

/** Three consecutive free gRPC ports and three HTTP ports, as launchMesh lays them out. */
async function freeReplicaPorts(taken: Set<number>): Promise<ReplicaPorts> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below Linux's ephemeral range (32768+), where outgoing connections and port-0
    // listeners of other tests would race us for a port between this check and the bind.
    const grpcBase = 20_000 + Math.floor(Math.random() * 12_000);
    const httpBase = grpcBase + 10;
    const ports = [1, 2, 3].flatMap((offset) => [grpcBase + offset, httpBase + offset]);
    if (ports.some((port) => taken.has(port))) continue;
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) {
      for (const port of ports) taken.add(port);
      const layout = (base: number) => ({ order: base + 1, inventory: base + 2, payment: base + 3 });
      return { grpcBase, httpBase, grpc: layout(grpcBase), http: layout(httpBase) };
    }
  }
  throw new Error("no free ports for a replica");
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
  });
}
