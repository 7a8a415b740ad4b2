/**
 * The file a service process imports before any of its own modules:
 * `node --import @shopmesh/telemetry/register dist/main.js`. It installs the ESM
 * loader hook that lets instrumentations patch imported modules (only the ones an
 * instrumentation asked for), then starts the SDK, so `pg` is instrumented by the time
 * the service imports it (and its resource is complete by the time anything reads it). The service's name and version come from the package.json
 * nearest to the entry script (`entryPackage`).
 */
import { register } from "node:module";
import { join } from "node:path";
import { createAddHookMessageChannel } from "import-in-the-middle";
import { entryPackage } from "./entry-package.js";
import { startTelemetry } from "./start-telemetry.js";

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register("import-in-the-middle/hook.mjs", import.meta.url, registerOptions);
await startTelemetry(entryPackage(process.argv[1] ?? join(process.cwd(), "entry")));
await waitForAllMessagesAcknowledged();
