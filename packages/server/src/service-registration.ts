import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";

/**
 * Who may reach a service. `public` services are served on both listeners (gRPC and
 * Connect/gRPC-Web for browsers and curl); `internal` ones only over gRPC, for other
 * shopmesh services and operators.
 */
export type Exposure = "public" | "internal";

/** A service descriptor with its one implementation. */
export interface ServiceRegistration {
  readonly service: DescService;
  readonly impl: Partial<ServiceImpl<DescService>>;
  readonly exposure: Exposure;
}

/**
 * Pairs a generated service descriptor with its implementation, keeping the
 * implementation type-checked against the descriptor.
 *
 * ```ts
 * registerService(CatalogService, createCatalogImpl(deps), "public");
 * ```
 */
export function registerService<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  exposure: Exposure,
): ServiceRegistration {
  return { service, impl: impl as Partial<ServiceImpl<DescService>>, exposure };
}
