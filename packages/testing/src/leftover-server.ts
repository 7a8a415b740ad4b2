import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

/** A persistent private server: how to recognise the one running on its folder. */
export interface PersistentServer {
  /** The file the server writes its process id to. */
  readonly pidFile: string;
  /** The file naming the process that started it (see {@link claimServer}). */
  readonly ownerFile: string;
  /** Its executable's name (`nats-server`, `postgres`). */
  readonly executable: string;
  /** The flag its folder follows on its command line (`-sd`, `-D`), and the folder. */
  readonly folderFlag: string;
  readonly folder: string;
  /** The signal that stops it cleanly. */
  readonly signal: NodeJS.Signals;
}

/**
 * Stops the server an earlier run started on `server.folder` and left behind when it
 * was killed outright (SIGKILL runs no exit hook) — without this the next start finds
 * its port or its data folder taken. Only a process that is alive, whose id the pid
 * file holds, whose command line is that executable with exactly that folder, and
 * whose starter (the owner file) has ended, is stopped: a stale pid file whose id was
 * reused stops nothing. A server whose starter still runs (another `npm start`) is
 * not taken from it: that is an error. `onStopped` is told of a server stopped.
 */
export async function stopLeftoverServer(
  server: PersistentServer,
  { onStopped, timeoutMs = 15_000 }: { onStopped?: (message: string) => void; timeoutMs?: number } = {},
): Promise<void> {
  const pid = await readPid(server.pidFile);
  if (pid === undefined || !isAlive(pid) || !isServerOn(await commandArgs(pid), server)) return;
  const owner = await readPid(server.ownerFile);
  if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `${server.executable} on ${server.folder} (pid ${pid}) was started by process ${owner}, which still runs ` +
        "(another npm start?); stop that one first",
    );
  }
  signal(pid, server.signal);
  const gone = await waitFor(() => !isAlive(pid), {
    timeoutMs,
    intervalMs: 50,
    description: `the ${server.executable} left running by an earlier run (pid ${pid}) to stop`,
  }).catch(() => false);
  if (!gone) {
    signal(pid, "SIGKILL");
    await waitFor(() => !isAlive(pid), {
      description: `the ${server.executable} left running (pid ${pid}) to be killed`,
    });
  }
  onStopped?.(`stopped the ${server.executable} an earlier run left running on ${server.folder} (pid ${pid})`);
}

/** Records this process as the starter of the server on its folder (see {@link stopLeftoverServer}). */
export async function claimServer(server: PersistentServer): Promise<void> {
  await writeFile(server.ownerFile, `${process.pid}\n`);
}

/** Forgets the starter of a server that has stopped. */
export async function releaseServer(server: PersistentServer): Promise<void> {
  await rm(server.ownerFile, { force: true });
}

/** Whether a process with this id exists and has not ended (a zombie has). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // The state follows the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

function isServerOn(args: readonly string[], server: PersistentServer): boolean {
  const flag = args.indexOf(server.folderFlag);
  return basename(args[0] ?? "") === server.executable && flag > 0 && args[flag + 1] === server.folder;
}

/** Sends a signal to a process that may have ended meanwhile. */
function signal(pid: number, name: NodeJS.Signals) {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

async function readPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, "utf8").catch(() => "");
  const pid = Number.parseInt(text.split("\n")[0] ?? "", 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * A process's arguments: from /proc on Linux (whole, however long), else from `ps`
 * at unlimited width (split at spaces: a folder with spaces is not recognised there).
 */
async function commandArgs(pid: number): Promise<string[]> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  if (cmdline !== undefined) return cmdline.split("\0").filter((arg) => arg !== "");
  const { stdout } = await run("ps", ["-ww", "-o", "command=", "-p", String(pid)]).catch(() => ({ stdout: "" }));
  return stdout.trim().split(/\s+/);
}
