import { type DescService, getOption } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Access, access } from "@shopmesh/gen/shopmesh/common/v1/access_pb.js";

/**
 * Who may reach a service, from its `(shopmesh.common.v1.access)` option. `public`
 * services are served on both listeners (gRPC, and Connect/gRPC-Web for browsers and
 * curl); `internal` ones (ACCESS_SERVICE) only over gRPC.
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
 * registerService(CatalogService, createCatalogImpl(deps));
 * ```
 */
export function registerService<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceRegistration {
  return {
    service,
    impl: impl as Partial<ServiceImpl<DescService>>,
    exposure: getOption(service, access) === Access.SERVICE ? "internal" : "public",
  };
}
