#!/usr/bin/env node
/**
 * Prints `proto/buf/validate/validate.proto` from the descriptor embedded in
 * @bufbuild/protovalidate.
 *
 * Why: our protos import `buf/validate/validate.proto`, which buf normally
 * pulls from the BSR module `buf.build/bufbuild/protovalidate`. Builds here
 * must work offline, so we vendor the file as source instead. The npm package
 * does not ship the .proto, only its compiled FileDescriptorProto; this script
 * turns that descriptor back into a wire-compatible schema (same messages,
 * numbers, types and options, including the CEL rules), so plain `buf lint`,
 * `buf generate` and `buf breaking` work on directories without BSR deps.
 * Comments are lost: the embedded descriptor carries no source code info.
 *
 * Usage: node tools/print-validate-proto.mjs   (deterministic output)
 * Verify: node tools/check-validate-proto.mjs  (compiles the file with buf and
 *         compares the result with the embedded descriptor)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createFileRegistry, createRegistry, getExtension, isFieldSet } from "@bufbuild/protobuf";
import { isReflectMessage, protoCamelCase, reflect } from "@bufbuild/protobuf/reflect";
import { toText } from "@bufbuild/protobuf/txtpb";
import {
  Edition,
  FieldDescriptorProtoSchema,
  file_google_protobuf_descriptor,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
} from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

export const outputPath = fileURLToPath(new URL("../proto/buf/validate/validate.proto", import.meta.url));
const genModule = "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/** The package.json of the installed @bufbuild/protovalidate. */
function protovalidatePackage() {
  const entry = fileURLToPath(import.meta.resolve("@bufbuild/protovalidate"));
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    const pkg = existsSync(file) && JSON.parse(readFileSync(file, "utf8"));
    if (pkg?.name === "@bufbuild/protovalidate") return pkg;
  }
  throw new Error("cannot find the package.json of @bufbuild/protovalidate");
}

/** The Apache-2.0 notice at the top of the package's validate_pb.js. */
function licenseNotice() {
  const js = readFileSync(new URL(import.meta.resolve(genModule)), "utf8");
  const notice = js.slice(0, js.search(/^(?!\/\/)/m)).trimEnd();
  if (!/Buf Technologies[\s\S]*Apache License/.test(notice)) throw new Error("no license notice in validate_pb.js");
  return notice;
}

const escapes = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r" };
/** Escape a character given with its code; control and non-ASCII as octal. */
const escapeChar = (c, code) =>
  escapes[c] ?? (code < 0x20 || code >= 0x7f ? `\\${code.toString(8).padStart(3, "0")}` : c);
/** A string literal: quotes, backslashes and controls escaped, UTF-8 raw. */
const quote = (s) => `"${[...s].map((c) => (c < "\x80" ? escapeChar(c, c.charCodeAt(0)) : c)).join("")}"`;
/** A bytes literal: printable ASCII raw, every other byte escaped. */
const quoteBytes = (b) => `"${[...b].map((x) => escapeChar(String.fromCharCode(x), x)).join("")}"`;

/** Indent lines (and the continuation lines of multi-line statements). */
const indent = (lines) => lines.map((l) => `  ${l.replaceAll("\n", "\n  ")}`);
const block = (head, body) => [`${head} {`, ...indent(body), "}"];
const descriptorTypes = createRegistry(file_google_protobuf_descriptor);

/**
 * Render a FileDescriptorProto as .proto source (without a header comment).
 * `dependencies` are the DescFiles of its imports.
 */
export function printFile(fileProto, dependencies) {
  // The registry makes the custom options defined in the file (and in its
  // imports) resolvable, so they can be read from the options' unknown fields.
  const registry = createFileRegistry(fileProto, (name) => dependencies.find((d) => d.proto.name === name));
  const syntax = fileProto.syntax || "proto2";

  // Every name that can shadow another in a scope: packages, types, fields,
  // oneofs, extensions, enum values (which live in their enum's scope).
  const symbols = new Set();
  for (const { proto } of registry.files) {
    for (const [i] of proto.package.split(".").entries()) symbols.add(proto.package.split(".", i + 1).join("."));
  }
  for (const type of registry) {
    symbols.add(type.typeName);
    const members = type.kind === "message" ? [...type.fields, ...type.oneofs] : [];
    for (const m of members) symbols.add(`${type.typeName}.${m.name}`);
    const scope = type.typeName.slice(0, -type.name.length);
    for (const v of type.kind === "enum" ? type.values : []) symbols.add(scope + v.name);
  }
  const parentOf = (scope) => scope.slice(0, Math.max(scope.lastIndexOf("."), 0));
  /** What `parts` resolves to from `scope`: the innermost match of parts[0] wins. */
  function resolve(parts, scope) {
    for (let s = scope; ; s = parentOf(s)) {
      const first = s ? `${s}.${parts[0]}` : parts[0];
      if (symbols.has(first)) return [first, ...parts.slice(1)].join(".");
      if (!s) return undefined;
    }
  }
  /**
   * The shortest name for `fullName` (no leading dot) that resolves to it from
   * every one of `scopes` (several where compilers disagree: protoc resolves
   * oneof options from the message, buf from the message's parent).
   */
  function relName(fullName, ...scopes) {
    const parts = fullName.split(".");
    for (let k = parts.length - 1; k >= 0; k--) {
      if (scopes.every((s) => resolve(parts.slice(k), s) === fullName)) return parts.slice(k).join(".");
    }
    return `.${fullName}`;
  }
  const scalar = (t) => ([Type.MESSAGE, Type.ENUM, Type.GROUP].includes(t) ? undefined : Type[t].toLowerCase());
  const typeName = (f, scope) => scalar(f.type) ?? relName(f.typeName.slice(1), scope);

  /** An option value; messages become text-format aggregates. */
  function optionValue(field, value) {
    if (field.message) {
      const body = toText(field.message, value, { registry }).trimEnd();
      return body ? `{\n${indent(body.split("\n")).join("\n")}\n}` : "{}";
    }
    if (field.enum) return field.enum.value[value]?.name ?? String(value);
    if (typeof value === "string") return quote(value);
    if (value instanceof Uint8Array) return quoteBytes(value);
    if (Number.isNaN(value)) return "nan";
    if (Math.abs(value) === Infinity) return value > 0 ? "inf" : "-inf";
    return String(value);
  }
  /** Values of a reflected field as plain values (messages unwrapped). */
  const plain = (field, v) =>
    (field.fieldKind === "list" ? [...v] : [v]).map((x) => (isReflectMessage(x) ? x.message : x));

  /** `name = value` for each set option: standard ones, then custom ones. */
  function optionEntries(options, ...scopes) {
    if (!options) return [];
    const { $typeName } = options;
    const desc = registry.getMessage($typeName) ?? descriptorTypes.getMessage($typeName);
    const msg = reflect(desc, options);
    const entries = [];
    const add = (name, field, values) => {
      for (const v of values) {
        if (field.fieldKind !== "message" || field.extendee) {
          entries.push(`${name} = ${optionValue(field, v)}`);
          continue;
        }
        // Singular standard message options (features) as paths: a.b = c.
        const sub = reflect(field.message, v);
        for (const f of sub.fields) if (sub.isSet(f)) add(`${name}.${f.name}`, f, plain(f, sub.get(f)));
      }
    };
    for (const f of msg.fields) {
      if (f.name !== "uninterpreted_option" && msg.isSet(f)) add(f.name, f, plain(f, msg.get(f)));
    }
    for (const no of new Set((options.$unknown ?? []).map((u) => u.no))) {
      const ext = registry.getExtensionFor(desc, no);
      if (!ext) throw new Error(`unknown option ${no} in ${$typeName}`);
      const value = getExtension(options, ext);
      add(`(${relName(ext.typeName, ...scopes)})`, ext, ext.fieldKind === "list" ? value : [value]);
    }
    return entries;
  }
  const optionStatements = (options, ...scopes) => optionEntries(options, ...scopes).map((e) => `option ${e};`);
  function bracket(entries) {
    const inline = ` [${entries.join(", ")}]`;
    if (!entries.length) return "";
    if (entries.length === 1 || !/\n|.{60}/.test(inline)) return inline;
    return ` [\n${indent(entries).join(",\n")}\n]`;
  }

  const mapEntries = new Map(); // full type name -> map entry DescriptorProto
  function field(f, scope, inOneof) {
    if (f.type === Type.GROUP && syntax === "proto2") throw new Error(`groups are not supported: ${f.name}`);
    const entry = mapEntries.get(f.typeName);
    const [k, v] = entry?.field ?? [];
    let label = "";
    if (f.label === Label.REPEATED) label = entry ? "" : "repeated ";
    else if (syntax === "proto2" && !inOneof) {
      label = f.label === Label.REQUIRED ? "required " : "optional ";
    } else if (f.proto3Optional) label = "optional ";
    const type = entry ? `map<${typeName(k, scope)}, ${typeName(v, scope)}>` : typeName(f, scope);
    const entries = [];
    const d = f.defaultValue; // strings raw, bytes C-escaped, others as written in .proto
    if (isFieldSet(f, FieldDescriptorProtoSchema.field.defaultValue)) {
      entries.push(`default = ${f.type === Type.STRING ? quote(d) : f.type === Type.BYTES ? `"${d}"` : d}`);
    }
    if (!f.extendee && f.jsonName !== protoCamelCase(f.name)) entries.push(`json_name = ${quote(f.jsonName)}`);
    entries.push(...optionEntries(f.options, scope));
    return `${label}${type} ${f.name} = ${f.number}${bracket(entries)};`;
  }

  /** `extend` blocks, one per run of extensions of the same message. */
  function extensions(exts, scope) {
    const runs = [];
    for (const e of exts) {
      if (runs.at(-1)?.[0].extendee === e.extendee) runs.at(-1).push(e);
      else runs.push([e]);
    }
    const extend = (run) =>
      block(
        `extend ${relName(run[0].extendee.slice(1), scope)}`,
        run.map((e) => field(e, scope)),
      );
    return runs.flatMap(extend);
  }

  /** Ranges: end is exclusive for messages, inclusive for enums. */
  const range = ({ start, end }, isEnum) => {
    const last = isEnum ? end : end - 1;
    if (start === last) return `${start}`;
    const max = isEnum ? 2147483647 : 536870911;
    return `${start} to ${last === max ? "max" : last}`;
  };
  const reserved = ({ reservedRange, reservedName }, isEnum) => {
    const ids = syntax === "editions" ? reservedName : reservedName.map(quote);
    return [reservedRange.map((r) => range(r, isEnum)), ids]
      .filter((list) => list.length)
      .map((list) => `reserved ${list.join(", ")};`);
  };

  function enumType(e, scope) {
    return block(`enum ${e.name}`, [
      ...optionStatements(e.options, scope),
      ...e.value.map((v) => `${v.name} = ${v.number}${bracket(optionEntries(v.options, scope))};`),
      ...reserved(e, true),
    ]);
  }

  function message(m, scope) {
    const name = scope ? `${scope}.${m.name}` : m.name;
    for (const n of m.nestedType) if (n.options?.mapEntry) mapEntries.set(`.${name}.${n.name}`, n);
    const body = optionStatements(m.options, scope);
    const inOneof = (f) =>
      f !== undefined && isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) && !f.proto3Optional;
    let oneofs = 0;
    for (const [i, f] of m.field.entries()) {
      if (!inOneof(f)) body.push(field(f, name));
      else if (!inOneof(m.field[i - 1]) || m.field[i - 1].oneofIndex !== f.oneofIndex) {
        // First field of a oneof: print the whole oneof here.
        if (f.oneofIndex !== oneofs++) throw new Error(`${name}: oneofs out of order or not contiguous`);
        const o = m.oneofDecl[f.oneofIndex];
        const members = m.field.filter((g) => inOneof(g) && g.oneofIndex === f.oneofIndex);
        const oneofBody = [...optionStatements(o.options, name, scope), ...members.map((g) => field(g, name, true))];
        body.push(...block(`oneof ${o.name}`, oneofBody));
      }
    }
    for (const n of m.nestedType) if (!n.options?.mapEntry) body.push(...message(n, name));
    body.push(...m.enumType.flatMap((e) => enumType(e, name)));
    body.push(...extensions(m.extension, name));
    for (const r of m.extensionRange) {
      body.push(`extensions ${range(r, false)}${bracket(optionEntries(r.options, name, scope))};`);
    }
    return block(`message ${m.name}`, [...body, ...reserved(m, false)]);
  }

  if (fileProto.service.length) throw new Error("services are not supported");
  const pkg = fileProto.package;
  const edition = Edition[fileProto.edition].replace("EDITION_", "");
  const modifier = (i) =>
    fileProto.publicDependency.includes(i) ? "public " : fileProto.weakDependency.includes(i) ? "weak " : "";
  const sections = [
    [syntax === "editions" ? `edition = "${edition}";` : `syntax = "${syntax}";`],
    pkg ? [`package ${pkg};`] : [],
    [
      ...fileProto.dependency.map((d, i) => `import ${modifier(i)}${quote(d)};`),
      ...fileProto.optionDependency.map((d) => `import option ${quote(d)};`),
    ],
    optionStatements(fileProto.options, pkg),
    ...fileProto.messageType.map((m) => message(m, pkg)),
    ...fileProto.enumType.map((e) => enumType(e, pkg)),
    extensions(fileProto.extension, pkg),
  ];
  const nonEmpty = sections.filter((s) => s.length);
  return `${nonEmpty.map((s) => s.join("\n")).join("\n\n")}\n`;
}

/** The complete file: generated-code header, upstream license, schema. */
export function renderValidateProto() {
  const { version } = protovalidatePackage();
  const { proto, dependencies } = file_buf_validate_validate;
  return `// Code generated by tools/print-validate-proto.mjs from @bufbuild/protovalidate ${version}. DO NOT EDIT.
// Regenerate: node tools/print-validate-proto.mjs; verify: node tools/check-validate-proto.mjs.
// The upstream comments are missing: the embedded descriptor has none.
//
${licenseNotice()}

${printFile(proto, dependencies)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  mkdirSync(dirname(outputPath), { recursive: true });
  writeFileSync(outputPath, renderValidateProto());
  console.log(`wrote ${outputPath}`);
}
