import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { entryPackage } from "./entry-package.js";

describe("entryPackage", () => {
  // The image's layout: /app/main.js → services/order/dist/main.js, package.json beside dist.
  const app = mkdtempSync(join(tmpdir(), "shopmesh-entry-"));
  mkdirSync(join(app, "services/order/dist"), { recursive: true });
  writeFileSync(
    join(app, "services/order/package.json"),
    JSON.stringify({ name: "@shopmesh/order", version: "1.4.2" }),
  );
  writeFileSync(join(app, "services/order/dist/main.js"), "");
  symlinkSync("services/order/dist/main.js", join(app, "main.js"));
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it("names the service from the package.json nearest to the entry script", () => {
    expect(entryPackage(join(app, "services/order/dist/main.js"))).toEqual({
      serviceName: "order",
      serviceVersion: "1.4.2",
    });
  });

  it("follows a symlinked entry script to its package", () => {
    expect(entryPackage(join(app, "main.js"))).toEqual({ serviceName: "order", serviceVersion: "1.4.2" });
  });
});
