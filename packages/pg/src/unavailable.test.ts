import { describe, expect, it } from "vitest";
import { isDatabaseDown, isDatabaseUnavailable, isDatabaseUnreachable } from "./unavailable.js";

const withCode = (code: string, message = "failed") => Object.assign(new Error(message), { code });

describe("isDatabaseUnavailable", () => {
  it("recognises a saturated pool, a broken connection and a server that cannot take work", () => {
    for (const error of [
      new Error("timeout exceeded when trying to connect"),
      new Error("Connection terminated unexpectedly"),
      withCode("ECONNREFUSED"),
      withCode("08006"),
      withCode("53300"),
      withCode("55P03"),
      withCode("57014", "canceling statement due to statement timeout"),
      withCode("57P01"),
      withCode("57P03"),
    ]) {
      expect(isDatabaseUnavailable(error), String((error as { code?: string }).code ?? error.message)).toBe(true);
    }
  });

  it("leaves errors of the request itself alone", () => {
    for (const error of [
      withCode("23505", "duplicate key"),
      withCode("40001", "serialization failure"),
      withCode("22P02", "invalid input syntax"),
      new Error("something else"),
      "timeout exceeded when trying to connect",
      undefined,
    ]) {
      expect(isDatabaseUnavailable(error)).toBe(false);
    }
  });

  it("takes a lock or a statement's time running out as unavailability of what one statement touches, not of the database", () => {
    for (const code of ["55P03", "57014"]) expect(isDatabaseUnreachable(withCode(code)), code).toBe(false);
    for (const code of ["08006", "53300", "57P01"]) expect(isDatabaseUnreachable(withCode(code)), code).toBe(true);
  });

  it("tells a database that is down or cut off from one that is saturated, which answers the work that has a connection", () => {
    const down = [
      withCode("ECONNREFUSED"),
      withCode("08006"),
      withCode("57P01"),
      withCode("57P03"),
      new Error("Connection terminated unexpectedly"),
      new Error("Connection terminated due to connection timeout"),
      new Error("Query read timeout"),
    ];
    const saturated = [withCode("53300"), new Error("timeout exceeded when trying to connect")];
    expect(down.filter((error) => !isDatabaseDown(error))).toEqual([]);
    expect(saturated.filter(isDatabaseDown)).toEqual([]);
    for (const code of ["55P03", "57014", "23505"]) expect(isDatabaseDown(withCode(code)), code).toBe(false);
  });
});
