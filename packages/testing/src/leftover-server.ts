import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

/**
 * Stops the server an earlier run started on `dir` and left behind when it was killed
 * outright (SIGKILL runs no exit hook): the process whose id `pidFile` holds, if it is
 * alive and its command line names `dir` — so neither a stale file nor a reused process
 * id stops anything else. Without this the next start would find its port or its data
 * directory taken. Waits until the process is gone (SIGKILL after `timeoutMs`).
 */
export async function stopLeftoverServer(
  pidFile: string,
  dir: string,
  signal: NodeJS.Signals,
  timeoutMs = 15_000,
): Promise<void> {
  const pid = await readPid(pidFile);
  if (pid === undefined || !isAlive(pid) || !(await commandLine(pid)).includes(dir)) return;
  process.kill(pid, signal);
  const gone = await waitFor(() => !isAlive(pid), {
    timeoutMs,
    intervalMs: 50,
    description: `the server left running by an earlier run (pid ${pid}) to stop`,
  }).catch(() => false);
  if (!gone) {
    process.kill(pid, "SIGKILL");
    await waitFor(() => !isAlive(pid), { description: `the server left running (pid ${pid}) to be killed` });
  }
}

/** Whether a process with this id exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readPid(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, "utf8").catch(() => "");
  const pid = Number.parseInt(text.split("\n")[0] ?? "", 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** The process's command line (`ps`, on Linux and macOS alike); empty when it cannot be read. */
async function commandLine(pid: number): Promise<string> {
  const { stdout } = await run("ps", ["-o", "command=", "-p", String(pid)]).catch(() => ({ stdout: "" }));
  return stdout;
}
