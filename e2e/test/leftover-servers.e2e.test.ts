import { spawn } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startPrivateNats, startPrivatePostgres, waitFor } from "@shopmesh/testing";
import pg from "pg";
import { describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("../src/persistent-servers.ts", import.meta.url));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the local mesh's own PostgreSQL and nats-server", () => {
  it("left running by a launcher killed outright, are stopped by the next start, which then starts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shopmesh-leftover-"));
    await chmod(dir, 0o755); // run as root, PostgreSQL runs as its own user
    const [postgresPort, natsPort] = [await freePort(), await freePort()];
    const launcher = spawn(
      process.execPath,
      ["--conditions=@shopmesh/source", "--import", "tsx", script, dir, String(postgresPort), String(natsPort)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    let errors = "";
    launcher.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    launcher.stderr.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const exited = new Promise((resolve) => launcher.once("exit", resolve));
    let left: { postgres: number; nats: number } | undefined;
    try {
      left = await waitFor(
        () => {
          if (launcher.exitCode !== null) throw new Error(`the launcher exited: ${errors}`);
          return output.includes("}") && (JSON.parse(output) as { postgres: number; nats: number });
        },
        { timeoutMs: 40_000, description: "the launcher's servers started" },
      );
      launcher.kill("SIGKILL");
      await exited;
      expect(isAlive(left.postgres)).toBe(true);
      expect(isAlive(left.nats)).toBe(true);

      const postgres = await startPrivatePostgres({ dir: join(dir, "postgres"), port: postgresPort });
      const nats = await startPrivateNats({ dir: join(dir, "nats"), port: natsPort });
      try {
        expect(isAlive(left.postgres)).toBe(false);
        expect(isAlive(left.nats)).toBe(false);
        expect([postgres.pid, nats.pid]).not.toContain(left.postgres);
        const client = new pg.Client({ connectionString: postgres.url });
        await client.connect();
        expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
        await client.end();
      } finally {
        await nats.stop();
        await postgres.stop();
      }
    } finally {
      if (launcher.exitCode === null && launcher.signalCode === null) launcher.kill("SIGKILL");
      for (const pid of [left?.postgres, left?.nats]) if (pid && isAlive(pid)) process.kill(pid, "SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
