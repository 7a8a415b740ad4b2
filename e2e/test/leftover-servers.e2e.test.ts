import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, isAlive, startPrivateNats, startPrivatePostgres, waitFor } from "@shopmesh/testing";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("../src/persistent-servers.ts", import.meta.url));

const folders: string[] = [];
const children: ChildProcess[] = [];

/** A fresh folder for a launcher's servers (PostgreSQL runs as its own user, so readable by all). */
async function serversFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "shopmesh-leftover-"));
  await chmod(dir, 0o755);
  folders.push(dir);
  return dir;
}

/** The ids in the pid files of the servers on `dir`: those a launcher started there. */
async function serverPids(dir: string): Promise<number[]> {
  const files = [join(dir, "postgres", "data", "postmaster.pid"), join(dir, "nats", "nats-server.pid")];
  const texts = await Promise.all(files.map((file) => readFile(file, "utf8").catch(() => "")));
  return texts.map((text) => Number.parseInt(text, 10)).filter((pid) => pid > 0);
}

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const dir of folders.splice(0)) {
    for (const pid of await serverPids(dir)) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
});

/** Runs a launcher of persistent servers on `dir` (as `npm start` does) until they are up. */
async function launch(dir: string, postgresPort: number, natsPort: number) {
  const launcher = spawn(
    process.execPath,
    ["--conditions=@shopmesh/source", "--import", "tsx", script, dir, String(postgresPort), String(natsPort)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(launcher);
  let output = "";
  let errors = "";
  launcher.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  launcher.stderr.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const exited = new Promise((resolve) => launcher.once("exit", resolve));
  const servers = await waitFor(
    () => {
      if (launcher.exitCode !== null) throw new Error(`the launcher exited: ${errors}`);
      return output.includes("}") && (JSON.parse(output) as { postgres: number; nats: number });
    },
    { timeoutMs: 40_000, description: "the launcher's servers started" },
  );
  return { launcher, exited, servers };
}

describe("the local mesh's own PostgreSQL and nats-server", () => {
  it("left running by a launcher killed outright, are stopped by the next start, which then starts", async () => {
    const dir = await serversFolder();
    const [postgresPort, natsPort] = [await freePort(), await freePort()];
    const { launcher, exited, servers: left } = await launch(dir, postgresPort, natsPort);
    launcher.kill("SIGKILL");
    await exited;
    expect(isAlive(left.postgres)).toBe(true);
    expect(isAlive(left.nats)).toBe(true);

    const told: string[] = [];
    const postgres = await startPrivatePostgres({
      dir: join(dir, "postgres"),
      port: postgresPort,
      onLeftoverStopped: (message) => told.push(message),
    });
    try {
      const nats = await startPrivateNats({
        dir: join(dir, "nats"),
        port: natsPort,
        onLeftoverStopped: (message) => told.push(message),
      });
      try {
        expect(isAlive(left.postgres)).toBe(false);
        expect(isAlive(left.nats)).toBe(false);
        expect(told).toEqual([
          expect.stringContaining(`postgres an earlier run left running`),
          expect.stringContaining(`nats-server an earlier run left running`),
        ]);
        const client = new pg.Client({ connectionString: postgres.url });
        await client.connect();
        expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
        await client.end();
      } finally {
        await nats.stop();
      }
    } finally {
      await postgres.stop();
    }
  });

  it("of a launcher that still runs (a second npm start) are not taken from it", async () => {
    const dir = await serversFolder();
    const [postgresPort, natsPort] = [await freePort(), await freePort()];
    const { servers } = await launch(dir, postgresPort, natsPort);
    await expect(startPrivateNats({ dir: join(dir, "nats"), port: natsPort })).rejects.toThrow(/still runs/);
    await expect(startPrivatePostgres({ dir: join(dir, "postgres"), port: postgresPort })).rejects.toThrow(
      /still runs/,
    );
    expect(isAlive(servers.nats)).toBe(true);
    expect(isAlive(servers.postgres)).toBe(true);
  });

  it("stop nothing else that a stale pid file names: not another server's folder, nor a process reading ours", async () => {
    const dir = await serversFolder();
    const ours = join(dir, "nats");
    await mkdir(ours);
    // Another nats-server, whose store folder merely starts with ours (as /var/lib/nats-server does /var/lib/nats).
    const port = await freePort();
    const other = spawn("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", `${ours}-server`], {
      stdio: "ignore",
    });
    children.push(other);
    folders.push(`${ours}-server`);
    await new Promise((resolve) => other.once("spawn", resolve));
    await writeFile(join(ours, "nats-server.pid"), `${other.pid}\n`);
    // And a process naming a file inside our folder.
    await writeFile(join(ours, "server.log"), "");
    const reader = spawn("tail", ["-f", join(ours, "server.log")], { stdio: "ignore" });
    children.push(reader);
    await new Promise((resolve) => reader.once("spawn", resolve));

    const nats = await startPrivateNats({ dir: ours, port: await freePort() });
    await nats.stop();
    await writeFile(join(ours, "nats-server.pid"), `${reader.pid}\n`);
    const again = await startPrivateNats({ dir: ours, port: await freePort() });
    await again.stop();
    expect(isAlive(other.pid ?? 0)).toBe(true);
    expect(isAlive(reader.pid ?? 0)).toBe(true);
  });
});
