import type { Logger } from "pino";
import { onParentGone } from "./parent-process.js";

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits: 0 when it finished, 1 when it
 * failed. A second signal exits at once. A launcher's child (spawned with an IPC
 * channel) also stops when the launcher is gone, as if it had sent SIGTERM.
 */
export function onShutdownSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const begin = (why: Record<string, unknown>) => {
    stopping = true;
    logger.info(why, "shutting down");
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal; exiting now");
      process.exit(1);
    }
    begin({ signal });
  };
  process.on("SIGTERM", handle);
  process.on("SIGINT", handle);
  // Not a second signal when already stopping: a launcher that sent SIGTERM may exit first.
  onParentGone(() => {
    if (!stopping) begin({ reason: "launcher gone" });
  });
}
