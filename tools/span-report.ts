/**
 * `npm run span-report -- FILE`: reads the OTLP/JSON exports `npm run bench -- --spans FILE`
 * kept, and prints what the sampled checkouts cost in spans (per service: spans,
 * characters of names and attributes, and links per order) and where PlaceOrder's time
 * went (the median and p90 of each piece of its server span).
 */
import { readFileSync } from "node:fs";

interface OtlpSpan {
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
  links?: unknown[];
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}
interface Span {
  readonly service: string;
  readonly id: string;
  readonly parentId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: ReadonlyMap<string, string>;
  readonly links: number;
}

const serverKind = 2;
const clientKind = 3;

const file = process.argv[2];
if (!file) {
  console.error("usage: npm run span-report -- FILE   (FILE written by `npm run bench -- --spans FILE`)");
  process.exit(2);
}
const spans = readSpans(file);
const children = new Map<string, Span[]>();
for (const span of spans) {
  if (span.parentId) children.set(span.parentId, [...(children.get(span.parentId) ?? []), span]);
}
const placeOrders = spans.filter((span) => span.kind === serverKind && span.name.endsWith("/PlaceOrder"));
if (placeOrders.length === 0) {
  console.error(`${file} holds no PlaceOrder server span: was it written by \`npm run bench -- --spans\`?`);
  process.exit(1);
}
reportSpansPerOrder();
reportPlaceOrder();

function readSpans(path: string): Span[] {
  const found: Span[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const exported = JSON.parse(line) as OtlpExport;
    for (const { resource, scopeSpans } of exported.resourceSpans ?? []) {
      const service = resource?.attributes?.find(({ key }) => key === "service.name")?.value.stringValue ?? "?";
      for (const { spans: scoped } of scopeSpans ?? []) {
        for (const span of scoped ?? []) {
          found.push({
            service,
            id: span.spanId,
            parentId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            startMs: Number(BigInt(span.startTimeUnixNano) / 1000n) / 1000,
            endMs: Number(BigInt(span.endTimeUnixNano) / 1000n) / 1000,
            attributes: new Map(
              (span.attributes ?? []).map(({ key, value }) => [key, String(Object.values(value)[0] ?? "")]),
            ),
            links: span.links?.length ?? 0,
          });
        }
      }
    }
  }
  return found;
}

/** Spans per sampled order: shared spans (a batch's SQL, say) count once, for all its orders. */
function reportSpansPerOrder() {
  const orders = placeOrders.length;
  const byService = new Map<string, { spans: number; characters: number; links: number }>();
  for (const span of spans) {
    const totals = byService.get(span.service) ?? { spans: 0, characters: 0, links: 0 };
    totals.spans++;
    totals.characters += span.name.length;
    for (const [key, value] of span.attributes) totals.characters += key.length + value.length;
    totals.links += span.links;
    byService.set(span.service, totals);
  }
  console.log(`spans per sampled order (${orders} PlaceOrders sampled):`);
  console.log(`${"service".padEnd(12)}${"spans".padStart(8)}${"characters".padStart(12)}${"links".padStart(8)}`);
  for (const [service, totals] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(
      `${service.padEnd(12)}${(totals.spans / orders).toFixed(1).padStart(8)}` +
        `${Math.round(totals.characters / orders)
          .toString()
          .padStart(12)}${(totals.links / orders).toFixed(1).padStart(8)}`,
    );
  }
}

/**
 * PlaceOrder's pieces, from the PlaceOrders whose catalog call and insert are in their
 * own trace (a shared call runs in one caller's trace; the others link to it).
 */
function reportPlaceOrder() {
  const pieces = new Map<string, number[]>();
  const add = (piece: string, ms: number) => pieces.set(piece, [...(pieces.get(piece) ?? []), ms]);
  let whole = 0;
  for (const call of placeOrders) {
    const own = children.get(call.id) ?? [];
    const catalog = own.find((span) => span.kind === clientKind && span.name.endsWith("/BatchGetProducts"));
    const insert = own.find((span) => span.name.startsWith("pg.query:order.insert"));
    if (!catalog || !insert) continue;
    whole++;
    add("the whole call (server span)", call.endMs - call.startMs);
    add("start → its catalog call (waiting for the lookup in flight)", catalog.startMs - call.startMs);
    add("the catalog call (client span)", catalog.endMs - catalog.startMs);
    const served = (children.get(catalog.id) ?? []).find((span) => span.kind === serverKind);
    if (served) {
      add("  of which: the request reaching inventory", served.startMs - catalog.startMs);
      add("  of which: inventory's server span", served.endMs - served.startMs);
      add("  of which: the answer reaching the order service", catalog.endMs - served.endMs);
    }
    add("catalog answer → insert", insert.startMs - catalog.endMs);
    add("the insert statement", insert.endMs - insert.startMs);
    add("insert → answer", call.endMs - insert.endMs);
  }
  console.log(
    `\nPlaceOrder (${whole} of ${placeOrders.length} sampled with their catalog call and insert in their own trace):`,
  );
  console.log(`${"piece".padEnd(62)}${"p50 ms".padStart(8)}${"p90 ms".padStart(8)}`);
  for (const [piece, values] of pieces) {
    values.sort((a, b) => a - b);
    const at = (q: number) => (values[Math.min(values.length - 1, Math.floor(values.length * q))] ?? 0).toFixed(1);
    console.log(`${piece.padEnd(62)}${at(0.5).padStart(8)}${at(0.9).padStart(8)}`);
  }
}
