#!/usr/bin/env node
/**
 * Checks that proto/buf/validate/validate.proto (written by
 * tools/print-validate-proto.mjs) is faithful to the descriptor embedded in
 * @bufbuild/protovalidate, and up to date.
 *
 * 1. The file must equal what print-validate-proto.mjs renders now.
 * 2. The file is copied alone into a fresh temporary buf workspace (so other,
 *    possibly broken, files under proto/ cannot interfere), compiled with the
 *    repo's buf (`buf build --exclude-imports --as-file-descriptor-set`, the
 *    latter so buf's image metadata is left out), and the resulting
 *    FileDescriptorProto must be byte-identical to the embedded one after this
 *    normalisation, applied to both sides:
 *    - `source_code_info` is cleared: the embedded descriptor has none, and
 *      the printed file has different comments and positions anyway;
 *    - `json_name` is cleared where it equals the default (protoCamelCase of
 *      the field name): buf always sets it, while protoc-gen-es strips the
 *      default ones from the embedded copy and restores them on load.
 *    (The embedded dependency list, which protoc-gen-es drops, is rebuilt by
 *    protobuf-es from the generated imports, so it is compared as well.)
 *    Both sides are then serialized with the same toBinary, so field order
 *    within messages is the same; custom options stay as unknown fields in the
 *    bytes buf produced, and must match exactly.
 *
 * Exits non-zero with a description of the first difference on mismatch.
 * Usage: node tools/check-validate-proto.mjs
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { clearField, clone, createRegistry, fromBinary, isFieldSet, toBinary, toJson } from "@bufbuild/protobuf";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import { FieldDescriptorProtoSchema, FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { outputPath, renderValidateProto } from "./print-validate-proto.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const protoName = "buf/validate/validate.proto";

function fail(message) {
  console.error(`check-validate-proto: FAIL: ${message}`);
  process.exit(1);
}

/** Compile the file alone with buf and return its FileDescriptorProto. */
function compileWithBuf(source) {
  const buf = join(root, "node_modules/.bin/buf");
  if (!existsSync(buf)) fail(`${buf} not found; run npm install`);
  const tmp = mkdtempSync(join(tmpdir(), "check-validate-proto-"));
  let build;
  let image;
  try {
    const workspace = join(tmp, "ws");
    mkdirSync(join(workspace, dirname(protoName)), { recursive: true });
    writeFileSync(join(workspace, protoName), source);
    writeFileSync(join(workspace, "buf.yaml"), "version: v2\n");
    const out = join(tmp, "image.binpb");
    const args = ["build", workspace, "--exclude-imports", "--as-file-descriptor-set", "-o", out];
    build = spawnSync(buf, args, { encoding: "utf8" });
    if (build.status === 0) image = readFileSync(out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!image) fail(`buf build failed:\n${build.error?.message ?? build.stderr}`);
  const file = fromBinary(FileDescriptorSetSchema, image).file.find((f) => f.name === protoName);
  if (!file) fail(`buf build produced no ${protoName}`);
  return file;
}

/** A normalised copy, see the header comment. */
function normalise(fileProto) {
  const f = clone(FileDescriptorProtoSchema, fileProto);
  clearField(f, FileDescriptorProtoSchema.field.sourceCodeInfo);
  const clearJsonNames = (fields) => {
    for (const field of fields) {
      if (
        isFieldSet(field, FieldDescriptorProtoSchema.field.jsonName) &&
        field.jsonName === protoCamelCase(field.name)
      ) {
        clearField(field, FieldDescriptorProtoSchema.field.jsonName);
      }
    }
  };
  const walk = (m) => {
    clearJsonNames(m.field);
    clearJsonNames(m.extension);
    m.nestedType.forEach(walk);
  };
  clearJsonNames(f.extension);
  f.messageType.forEach(walk);
  return f;
}

const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Path and values of the first difference, with custom options decoded. */
function describeDifference(actual, expected) {
  const registry = createRegistry(file_buf_validate_validate);
  const json = (f) => toJson(FileDescriptorProtoSchema, f, { registry });
  const show = (v) => (v === undefined ? "(missing)" : JSON.stringify(v).slice(0, 500));
  const firstDiff = (a, b, path) => {
    if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
    if (a && b && typeof a === "object" && typeof b === "object") {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        const diff = firstDiff(a[key], b[key], Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`);
        if (diff) return diff;
      }
    }
    return `at ${path}:\n  buf build of the printed file: ${show(a)}\n  embedded descriptor:           ${show(b)}`;
  };
  return (
    firstDiff(json(actual), json(expected), "FileDescriptorProto") ??
    "the descriptors decode equal but serialize differently (encoding order of options?)"
  );
}

const source = readFileSync(outputPath, "utf8");
if (source !== renderValidateProto()) fail(`${outputPath} is stale; run node tools/print-validate-proto.mjs`);

const actual = normalise(compileWithBuf(source));
const expected = normalise(file_buf_validate_validate.proto);
if (!sameBytes(toBinary(FileDescriptorProtoSchema, actual), toBinary(FileDescriptorProtoSchema, expected))) {
  fail(
    `${outputPath} does not compile to the embedded descriptor; first difference ${describeDifference(actual, expected)}`,
  );
}
console.log(`check-validate-proto: OK (${protoName} compiles to the embedded descriptor)`);
