import { z } from "zod";

/** A configuration that failed validation; the message lists every bad variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Reads and validates configuration from environment variables with a zod schema
 * whose keys are the variable names. Every problem is reported at once, with the
 * variable name, so a misconfigured process fails at start with one clear message.
 *
 * ```ts
 * const config = loadConfig({ GRPC_ADDRESS: z.string().default("0.0.0.0:50051") });
 * ```
 */
export function loadConfig<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: Record<string, string | undefined> = process.env,
): z.infer<z.ZodObject<Shape>> {
  const values = Object.fromEntries(Object.keys(shape).map((key) => [key, emptyAsUnset(env[key])]));
  const result = z.object(shape).safeParse(values);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
  throw new ConfigError(`invalid configuration:\n${problems.join("\n")}`);
}

function emptyAsUnset(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}
