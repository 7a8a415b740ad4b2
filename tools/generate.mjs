/**
 * Regenerates everything derived from the contracts: proto/buf/validate/validate.proto
 * (printed from @bufbuild/protovalidate, see docs/decisions/0002) and gen/src (buf generate).
 * `--check` generates into a temporary folder instead and fails if the committed files differ.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { bin, ensureInstalled, root, run } from "./run.mjs";

ensureInstalled();
const check = process.argv.includes("--check");

if (!check) {
  run("node", ["tools/print-validate-proto.mjs"]);
  run(bin("buf"), ["generate"]);
  process.exit(0);
}

run("node", ["tools/check-validate-proto.mjs"]);
const out = mkdtempSync(join(tmpdir(), "shopmesh-gen-"));
try {
  run(bin("buf"), ["generate", "--output", out]);
  const expected = listFiles(join(out, "gen/src"));
  const actual = listFiles(join(root, "gen/src"));
  const differing = [...new Set([...expected.keys(), ...actual.keys()])].filter(
    (file) => expected.get(file) !== actual.get(file),
  );
  if (differing.length > 0) {
    console.error(`✖ gen/src is stale; run \`npm run generate\`. Differs: ${differing.join(", ")}`);
    process.exit(1);
  }
  console.log(`✔ gen/src matches the contracts (${actual.size} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

function listFiles(dir) {
  const files = new Map();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), readFileSync(path, "utf8"));
  }
  return files;
}
