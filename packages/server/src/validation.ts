import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator, type Validator, violationsToProto } from "@bufbuild/protovalidate";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";

/**
 * Rejects requests that break the protovalidate rules of the contracts with
 * INVALID_ARGUMENT before any handler runs. The error carries the violations twice:
 * as `buf.validate.Violations` (for protovalidate-aware clients) and as
 * `google.rpc.BadRequest` field violations, which every gRPC ecosystem decodes —
 * the first {@link reportedViolations} of them: over gRPC they travel in trailers,
 * and HTTP/2 refuses a header block past its limit (~64 KB) by sending nothing, which
 * stalls the whole connection.
 */
export function createValidationInterceptor(validator: Validator = createValidator()): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      assertValid(validator, req.method.input, req.message);
      return next(req);
    }
    const messages = req.message;
    async function* validated() {
      for await (const message of messages) {
        assertValid(validator, req.method.input, message);
        yield message;
      }
    }
    return next({ ...req, message: validated() });
  };
}

/** The violations an error reports, at most. */
export const reportedViolations = 20;

function assertValid(validator: Validator, schema: DescMessage, message: MessageShape<DescMessage>): void {
  const result = validator.validate(schema, message);
  if (result.kind === "valid") return;
  if (result.kind === "error") {
    throw new ConnectError("request validation failed", Code.Internal, undefined, undefined, result.error);
  }
  const reported = result.violations.slice(0, reportedViolations);
  const untold = result.violations.length - reported.length;
  const [violations, violationsSchema] = violationsToProto(reported);
  const fieldViolations = reported.map((violation) => ({
    field: pathToString(violation.field),
    description: violation.message,
    reason: violation.ruleId,
  }));
  throw new ConnectError(
    reported.map(String).join("; ") + (untold > 0 ? `; and ${untold} more` : ""),
    Code.InvalidArgument,
    undefined,
    [
      { desc: violationsSchema, value: violations },
      { desc: BadRequestSchema, value: { fieldViolations } },
    ],
    result.error,
  );
}
