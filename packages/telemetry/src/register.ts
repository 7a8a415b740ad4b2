/**
 * The file a service process imports before any of its own modules:
 * `node --import @shopmesh/telemetry/register dist/main.js`. It installs the ESM
 * loader hook that lets instrumentations patch imported modules (only the ones an
 * instrumentation asked for), then starts the SDK, so `pg` is instrumented by the time
 * the service imports it (and its resource is complete by the time anything reads it). The service's name and version come from the package.json
 * nearest to the entry script (`entryPackage`).
 *
 * The hook runs in the service's own thread (`module.registerHooks`, Node ≥ 24.11.1):
 * `module.register` would run it on a loader thread of its own, which costs each
 * process ~36 MB of memory on Node 24 and a cross-thread round trip per imported
 * module. The instrumentations still tell the hook which modules they patch over
 * import-in-the-middle's message channel: in-thread, the hook reads the channel's port
 * from its options as the loader thread does (`RegisterHooksOptions` leaves it out of
 * its type), and this module awaits the acknowledgements before the service loads. If
 * the hook ignored the port, nothing would be patched: the SQL-span tests would fail.
 */
import { join } from "node:path";
import { createAddHookMessageChannel } from "import-in-the-middle";
import { type RegisterHooksOptions, register } from "import-in-the-middle/register-hooks.mjs";
import { entryPackage } from "./entry-package.js";
import { startTelemetry } from "./start-telemetry.js";

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel<RegisterHooksOptions>();
register(registerOptions.data);
await startTelemetry(entryPackage(process.argv[1] ?? join(process.cwd(), "entry")));
await waitForAllMessagesAcknowledged();
