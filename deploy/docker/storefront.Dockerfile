# syntax=docker/dockerfile:1
# The storefront: the Vite build of web/ served as static files by unprivileged nginx
# (uid 101, port 8080), which also proxies the browser's Connect calls to the public
# RPCs of order and inventory so the page talks to one origin. From the repository root:
#   docker build -f deploy/docker/storefront.Dockerfile -t shopmesh/storefront .
ARG NODE_IMAGE=node:24.22-bookworm-slim
ARG RUNTIME_IMAGE=nginxinc/nginx-unprivileged:1.27-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund --ignore-scripts && npm run build -w @shopmesh/web

FROM ${RUNTIME_IMAGE}
COPY deploy/docker/storefront-nginx.conf /etc/nginx/nginx.conf
COPY --from=build /src/web/dist /usr/share/nginx/html
# The page reads its runtime configuration from config.json beside index.html: this one
# sends the RPCs to the page's own origin, where this nginx proxies them, and has no
# sign-in. Without it the page would look for the services on :8081/:8082 of its host.
# Kubernetes mounts a ConfigMap over it (deploy/k8s/base/storefront.yaml).
COPY deploy/docker/storefront-config.json /usr/share/nginx/html/config.json
USER 101:101
EXPOSE 8080
