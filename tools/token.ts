/**
 * Prints a development token: `npm run token` (customer "demo-customer"),
 * `npm run token -- --customer alice`, or `npm run token -- --service operator`.
 */
import { parseArgs } from "node:util";
import { demoToken } from "./dev-identity.js";

const { values } = parseArgs({ options: { customer: { type: "string" }, service: { type: "string" } } });
const token = values.service
  ? await demoToken("service", values.service)
  : await demoToken("customer", values.customer ?? "demo-customer");
console.log(token);
