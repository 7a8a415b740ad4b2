/**
 * The return from the identity provider, in Debian's Chromium against the production
 * bundle: the one-time code and its state leave the address before the page fetches
 * anything of its own, and no request carries them in a Referer. The identity provider's
 * token endpoint is a stand-in on the storefront's own server; no mesh is needed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StaticServer, serveStatic } from "../server/static-server.js";
import { buildStorefront, launchBrowser } from "./browser.js";

const code = "the-one-time-code";
const state = "the-state";
const unsignedToken = [
  "e30",
  Buffer.from(JSON.stringify({ sub: "alice", exp: 4_000_000_000 })).toString("base64url"),
  "x",
];

describe("returning from the identity provider", () => {
  let dist = "";
  let server: StaticServer | undefined;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  const seen: { path: string; referer: string | undefined }[] = [];
  const exchanged: URLSearchParams[] = [];

  beforeAll(async () => {
    dist = await mkdtemp(join(tmpdir(), "shopmesh-web-sign-in-"));
    await buildStorefront(dist);
    server = await serveStatic(dist, {
      middleware: (req, res, next) => {
        const path = new URL(req.url ?? "/", "http://storefront.local").pathname;
        seen.push({ path, referer: req.headers.referer });
        if (path === "/config.json") {
          const url = server?.url ?? "";
          const identity = {
            kind: "oidc",
            authorizeUrl: `${url}/idp/authorize`,
            tokenUrl: `${url}/idp/token`,
            clientId: "storefront",
            scope: "openid",
          };
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ orderUrl: url, catalogUrl: url, identity }));
        } else if (path === "/idp/token") {
          void body(req).then((form) => {
            exchanged.push(new URLSearchParams(form));
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ access_token: unsignedToken.join(".") }));
          });
        } else next();
      },
    });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(dist, { recursive: true, force: true });
  });

  /** A page of a tab that began a sign-in: what beginOidcSignIn keeps before leaving for the provider. */
  async function pageWithPendingSignIn() {
    const url = server?.url ?? "";
    const page = await (browser?.context ?? expect.unreachable()).newPage();
    await page.goto(`${url}/`);
    await page.evaluate((pending) => sessionStorage.setItem("shopmesh.pkce.v1", JSON.stringify(pending)), {
      verifier: "the-verifier",
      state,
    });
    return { url, page };
  }

  it("takes the code out of the address before any request of the page, and sends it in no Referer", async () => {
    const { url, page } = await pageWithPendingSignIn();
    const addressWhenConfigFetched: string[] = [];
    await page.route("**/config.json", async (route) => {
      addressWhenConfigFetched.push(await page.evaluate(() => window.location.href));
      await route.continue();
    });
    seen.length = 0;

    await page.goto(`${url}/?code=${code}&state=${state}#/`);
    await page.getByRole("button", { name: "Sign out alice" }).waitFor();

    expect(
      exchanged.map((form) => form.get("code")),
      "the code was exchanged",
    ).toEqual([code]);
    expect(page.url()).toBe(`${url}/#/`);
    expect(addressWhenConfigFetched).toEqual([`${url}/#/`]);
    expect(seen.map((request) => request.path)).toContain("/config.json");
    expect(
      seen
        .filter((request) => request.referer !== undefined)
        .map((request) => `${request.path} from ${request.referer}`),
    ).toEqual([]);
    await page.close();
  });

  it("says the sign-in failed when the provider refused it, and takes the answer out of the address", async () => {
    const { url, page } = await pageWithPendingSignIn();
    exchanged.length = 0;

    await page.goto(`${url}/?error=access_denied&error_description=consent+declined&state=${state}#/`);
    const alert = page.getByRole("alert").filter({ hasText: "Sign-in failed" });
    await alert.waitFor();

    expect(await alert.textContent()).toContain("the identity provider refused it: consent declined");
    expect(page.url()).toBe(`${url}/#/`);
    expect(exchanged, "no token requested").toEqual([]);
    expect(await page.evaluate(() => sessionStorage.getItem("shopmesh.pkce.v1")), "the pending sign-in").toBeNull();
    expect(await page.getByRole("link", { name: "Sign in again" }).isVisible()).toBe(true);
    await page.close();
  });
});

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}
