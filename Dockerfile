# One image serving either service; Cloud Run picks one with its command:
#   node dist/services/receiver/main.js   |   node dist/services/fulfiller/main.js
# The operator CLI is in it too: node dist/services/cli/main.js --help

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` dev dependency (Node 24 for machines with an older one)
# is not needed where the image already is Node 24.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY services ./services
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional as well: valibot names TypeScript as an optional peer, and npm keeps such a
# package under --omit=dev alone (it is "devOptional"); nothing else here is optional.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY package.json ./
COPY scripts/warm-compile-cache.mjs ./scripts/
# Node's compile cache: each service starts once at build time, as `node` and from these
# paths (Node keys the cache by user, path and content), so a cold start on Cloud Run reads
# the Google client libraries' compiled code instead of compiling it again (docs/BENCHMARKS.md).
# The cache stays writable by `node`: what a process compiles later (the CLI) is added to that
# instance's own copy; Node checks each entry against its file's content before using it.
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN install -d -o node -g node /app/.compile-cache
# Unprivileged at run time; the code is owned by root and read-only to it.
USER node
RUN node scripts/warm-compile-cache.mjs
EXPOSE 8080
# node is PID 1 and handles SIGTERM itself (graceful drain in services/common/http.ts).
CMD ["node", "dist/services/receiver/main.js"]
