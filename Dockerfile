# syntax=docker/dockerfile:1
# Tally's pipeline processes in one image: `docker run tally:local <command>` is `tally <command>`.
# docker-compose.yml builds it once (image tally:local) for ship, beats, http, apel-queue,
# transform, the sinks and setup.

ARG NODE_VERSION=20

# ---- build: every dependency (node-rdkafka compiles librdkafka from source), then the TypeScript build
FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against the image's own Node headers instead of downloading them
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# the sources (.dockerignore keeps node_modules, dist and local state out); the tests compile too,
# as tsconfig.json includes them, and are dropped afterwards
COPY . .
RUN npx tsc -p tsconfig.json \
 && rm -rf dist/test \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: Node, the compiled CLI, production node_modules (the native addon built above)
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# librdkafka links OpenSSL and zlib dynamically; ca-certificates for TLS to Kafka and Elasticsearch
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl3 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/bin/node-options ./bin/node-options
# `tally` on the PATH for `docker compose exec <service> tally ...` and the entrypoint: node with the
# flags every Tally process runs with (bin/node-options, one per line, as bin/tally reads them); the
# native addon must load here
RUN printf '#!/bin/sh\nexec node $(cat /app/bin/node-options) /app/dist/app/cli/main.js "$@"\n' > /usr/local/bin/tally \
 && chmod 755 /usr/local/bin/tally \
 && node -e "require('node-rdkafka')" \
 && node dist/app/cli/main.js --version \
 && mkdir -p /app/data /var/lib/tally/input /var/spool/apel/caso /var/spool/apel/outgoing \
 && chown -R node:node /app/data /var/lib/tally /var/spool/apel
# working data (the file-tail registry's default data/registry/...) lives in /app/data; the folders
# docker-compose.yml mounts volumes on exist here already, owned by node, so named volumes start writable
USER node
EXPOSE 5044 8080
# the launcher execs node, so node is PID 1 and handles SIGTERM (drain, commit, exit 0); docker-compose.yml adds an init for reaping
ENTRYPOINT ["/usr/local/bin/tally"]
CMD ["--help"]
