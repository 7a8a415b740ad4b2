// Copies what a service needs at run time into a folder, for its image:
//   node deploy/docker/production-tree.mjs order /app     (after npm ci and the build)
// npm cannot do this itself: `npm ci --omit=dev --workspace=…` still installs the dev
// dependencies of the workspace packages a service depends on (the test harness and
// with it vitest, vite, tsx and an embedded PostgreSQL). So this follows only
// `dependencies` (and optional and required peer dependencies) from the service's
// package.json through node_modules as Node resolves them, and copies each package
// found; workspace packages contribute only package.json, dist/ and migrations/, and
// are linked from node_modules as npm links them.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";

const [service, out] = process.argv.slice(2);
if (!service || !out) throw new Error("usage: production-tree.mjs <service> <out>");
const root = process.cwd();
const start = join(root, "services", service);
if (!existsSync(join(start, "package.json"))) throw new Error(`no service ${service}`);

const copied = new Set();
const queue = [start];
while (queue.length > 0) {
  const dir = queue.shift();
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const optionalPeers = manifest.peerDependenciesMeta ?? {};
  const wanted = [
    ...Object.keys(manifest.dependencies ?? {}).map((name) => ({ name, required: true })),
    ...Object.keys(manifest.optionalDependencies ?? {}).map((name) => ({ name, required: false })),
    ...Object.keys(manifest.peerDependencies ?? {}).map((name) => ({ name, required: !optionalPeers[name]?.optional })),
  ];
  for (const { name, required } of wanted) {
    const location = resolve(dir, name);
    if (!location) {
      if (required) throw new Error(`${name} (needed by ${relative(root, dir) || "root"}) is not installed`);
      continue;
    }
    const real = realpathSync(location);
    if (copied.has(location)) continue;
    copied.add(location);
    if (location !== real) {
      // A workspace package: npm's link in node_modules, to the package's own folder.
      copyWorkspacePackage(real);
      mkdirSync(dirname(join(out, relative(root, location))), { recursive: true });
      symlinkSync(relative(dirname(location), real), join(out, relative(root, location)));
    } else {
      cpSync(location, join(out, relative(root, location)), {
        recursive: true,
        filter: (source) => !source.slice(location.length).split(sep).includes("node_modules"),
      });
    }
    queue.push(real);
  }
}
copyWorkspacePackage(start);

function copyWorkspacePackage(dir) {
  const target = join(out, relative(root, dir));
  mkdirSync(target, { recursive: true });
  for (const part of ["package.json", "dist", "migrations"]) {
    if (existsSync(join(dir, part))) cpSync(join(dir, part), join(target, part), { recursive: true });
  }
}

/** Node's lookup: node_modules of the folder, then of each parent up to the repository root. */
function resolve(from, name) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === root || dir === dirname(dir)) return undefined;
  }
}
