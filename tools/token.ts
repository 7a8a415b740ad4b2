/**
 * Prints a development token: `npm run token` (customer "demo-customer"),
 * `npm run token -- --customer alice`, or `npm run token -- --service operator`.
 */
import { parseArgs } from "node:util";
import { demoToken } from "./dev-identity.js";

const usage = "usage: npm run token [-- --customer <id> | --service <name>]";
let values: { customer?: string | undefined; service?: string | undefined; help?: boolean | undefined };
try {
  ({ values } = parseArgs({
    options: { customer: { type: "string" }, service: { type: "string" }, help: { type: "boolean", short: "h" } },
  }));
} catch (error) {
  console.error(`${error instanceof Error ? error.message : error}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const refuse = (message: string) => {
  console.error(`${message}\n${usage}`);
  process.exit(2);
};
if (values.customer !== undefined && values.service !== undefined) refuse("--customer and --service: one or the other");
if (values.customer === "" || values.service === "") refuse("an empty id names nobody");
const token = values.service
  ? await demoToken("service", values.service)
  : await demoToken("customer", values.customer ?? "demo-customer");
console.log(token);
