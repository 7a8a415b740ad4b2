/**
 * The file a service process imports before any of its own modules:
 * `node --import @shopmesh/telemetry/register dist/main.js`. It installs the ESM
 * loader hook that lets instrumentations patch imported modules (only the ones an
 * instrumentation asked for), then starts the SDK, so `pg` is instrumented by the time
 * the service imports it. The service's name and version come from the package.json
 * nearest to the entry script.
 */
import { readFileSync } from "node:fs";
import { register } from "node:module";
import { dirname, join } from "node:path";
import { createAddHookMessageChannel } from "import-in-the-middle";
import { startTelemetry } from "./start-telemetry.js";

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register("import-in-the-middle/hook.mjs", import.meta.url, registerOptions);
startTelemetry(entryPackage(process.argv[1] ?? process.cwd()));
await waitForAllMessagesAcknowledged();

function entryPackage(entry: string): { serviceName: string; serviceVersion: string } {
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    try {
      const { name, version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      return { serviceName: (name ?? "unknown").replace(/^@shopmesh\//, ""), serviceVersion: version ?? "0.0.0" };
    } catch {
      if (dirname(dir) === dir) return { serviceName: "unknown", serviceVersion: "0.0.0" };
    }
  }
}
