# syntax=docker/dockerfile:1
# One image per service, from the repository root:
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=order -t shopmesh/order .
# The build stage compiles the service and the workspace packages it needs; the runtime
# stage is distroless Node (no shell, no npm, no compilers) running as uid 65532 and
# holds only compiled JavaScript, production dependencies and SQL migrations, so the
# container can run with a read-only root filesystem.
ARG NODE_IMAGE=node:20.19-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /src
COPY . .
RUN test -n "${SERVICE}" && test -d "services/${SERVICE}" \
 && npm ci --no-audit --no-fund --ignore-scripts \
 && TURBO_TELEMETRY_DISABLED=1 npx turbo run build --filter="@shopmesh/${SERVICE}..."
# Production dependencies of this one service only, then the files it runs from:
# package.json, dist/ and migrations/ of every workspace package (sources and tests stay behind).
RUN npm ci --omit=dev --workspace="@shopmesh/${SERVICE}" --no-audit --no-fund --ignore-scripts \
 && mkdir /app \
 && cp -a package.json node_modules /app/ \
 && for dir in gen packages/* "services/${SERVICE}"; do \
      mkdir -p "/app/${dir}" && cp -a "${dir}/package.json" "/app/${dir}/"; \
      for part in dist migrations; do if [ -d "${dir}/${part}" ]; then cp -a "${dir}/${part}" "/app/${dir}/"; fi; done; \
    done \
 && find /app -name '*.test.js' -delete \
 && ln -s "services/${SERVICE}/dist/main.js" /app/main.js \
 && cp deploy/docker/healthcheck.mjs /app/healthcheck.mjs

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
USER 65532:65532
# The same heap cap the benchmark and `npm start` use (tools/mesh-processes.ts), well
# inside the 256 MiB memory limit of the Kubernetes manifests.
ENTRYPOINT ["/nodejs/bin/node", "--max-old-space-size=128"]
CMD ["main.js"]
