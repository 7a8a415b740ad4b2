import { fileURLToPath } from "node:url";
import { migrate } from "@shopmesh/pg";

const eventMigrations = fileURLToPath(new URL("../../events/migrations", import.meta.url));

/** The folders a service migrates from: the shared event tables first, then its own. */
export function migrationDirs(definition: { readonly migrations: URL }): string[] {
  return [eventMigrations, fileURLToPath(definition.migrations)];
}

/**
 * The whole of a service's `migrate.ts`: applies its migrations to DATABASE_URL and
 * exits. Kubernetes runs it as an init container so a bad migration stops the rollout
 * before the new version serves; the service itself would migrate at start anyway
 * (under the same advisory lock), so running both is harmless.
 */
export async function runMigrationsProcess(
  definition: { readonly name: string; readonly migrations: URL },
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    process.stderr.write(`${definition.name} migrations: DATABASE_URL is required\n`);
    process.exit(1);
  }
  try {
    const applied = await migrate({
      databaseUrl,
      dir: migrationDirs(definition),
      warn: (message) => process.stderr.write(`${definition.name} migrations: ${message}\n`),
    });
    process.stdout.write(
      `${definition.name} migrations: ${applied.length} applied (${applied.join(", ") || "none"})\n`,
    );
  } catch (error) {
    process.stderr.write(`${definition.name} migrations failed: ${String(error)}\n`);
    process.exit(1);
  }
}
