import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { describe, expect, it } from "vitest";
import { explain } from "./problem.js";

describe("explain", () => {
  it("puts validation violations on their fields", () => {
    const error = new ConnectError("invalid", Code.InvalidArgument, undefined, [
      {
        desc: BadRequestSchema,
        value: {
          fieldViolations: [
            { field: "payment_token", description: "value does not match regex pattern" },
            { field: "items[0].quantity", description: "value must be less than or equal to 1000" },
          ],
        },
      },
    ]);
    const problem = explain(error, "Ordering");
    expect(problem.title).toBe("Some details need fixing");
    expect(problem.fields).toEqual({
      payment_token: "value does not match regex pattern",
      "items[0].quantity": "value must be less than or equal to 1000",
    });
    expect(problem.retryable).toBe(false);
  });

  it("says what to do about a stable reason from the order service", () => {
    const error = new ConnectError("unknown SKU SKU-9", Code.NotFound, undefined, [
      { desc: ErrorInfoSchema, value: { reason: "ORDER_UNKNOWN_SKU", domain: "order.shopmesh" } },
    ]);
    expect(explain(error)).toMatchObject({
      title: "A product in your cart is no longer sold",
      action: "Remove it from your cart and check out again.",
    });
    const tooLarge = new ConnectError(
      "the items cost more than an order may total",
      Code.FailedPrecondition,
      undefined,
      [{ desc: ErrorInfoSchema, value: { reason: "ORDER_TOTAL_TOO_LARGE", domain: "order.shopmesh" } }],
    );
    expect(explain(tooLarge)).toMatchObject({
      title: "Your cart costs more than one order may",
      action: "Lower the quantities, or check out in several orders.",
      retryable: false,
    });
  });

  it("calls an unreachable service unavailable and retryable, naming what was asked", () => {
    for (const error of [new ConnectError("down", Code.Unavailable), new TypeError("Failed to fetch")]) {
      expect(explain(error, "Ordering")).toMatchObject({
        title: "Ordering is unavailable right now",
        retryable: true,
      });
    }
  });

  it("says nothing changed only when the service said so: an answer lost may have placed the order", () => {
    const catalogDown = new ConnectError("the catalog is unavailable", Code.Unavailable, undefined, [
      { desc: ErrorInfoSchema, value: { reason: "ORDER_INVENTORY_UNAVAILABLE", domain: "order.shopmesh" } },
    ]);
    expect(explain(catalogDown, "Ordering").detail).toMatch(/Nothing was changed/);
    for (const error of [
      // What Connect-Web makes of a proxy's 502 (the order service reset after the
      // order's commit), or of a database connection lost after it.
      new ConnectError("HTTP 502", Code.Unavailable),
      new TypeError("Failed to fetch"),
      new ConnectError("too slow", Code.DeadlineExceeded),
      new ConnectError("reset", Code.Canceled),
    ]) {
      const problem = explain(error, "Ordering");
      expect(problem.detail).not.toMatch(/Nothing was changed/);
      expect(problem.detail).toMatch(/may have gone through/);
      expect(problem.action).toMatch(/never applied twice/);
    }
    expect(explain(new ConnectError("too slow", Code.DeadlineExceeded), "Ordering").title).toBe(
      "Ordering did not answer in time",
    );
  });

  it("asks to sign in again on UNAUTHENTICATED", () => {
    expect(explain(new ConnectError("no token", Code.Unauthenticated)).title).toBe("Please sign in");
  });
});
