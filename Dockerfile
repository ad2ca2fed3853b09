# syntax=docker/dockerfile:1
# One image for all four services; the command picks the service:
#   docker build -t tsp .
#   docker run tsp node scripts/start-one.js screener      (default: ingest)
#   docker run tsp pnpm db:migrate                         (the migration; idempotent)
# Needs BuildKit (the default builder since Docker 23) for the pnpm store cache mounts.

FROM node:20-bookworm-slim AS base
# Must equal package.json's "packageManager": pnpm 10 otherwise downloads that version at run time.
ARG PNPM_VERSION=10.34.9
RUN npm install -g pnpm@${PNPM_VERSION} && npm cache clean --force
ENV npm_config_update_notifier=false
WORKDIR /app

FROM base AS build
# CI=true: pnpm never stops to ask before replacing node_modules. PNPM_HOME puts the store at
# /pnpm/store, which the cache mounts keep between builds.
ENV CI=true PNPM_HOME=/pnpm
COPY . .
# postinstall generates the Prisma client (packages/db/generated); its script defaults DATABASE_URL.
RUN --mount=type=cache,id=tsp-pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile
RUN pnpm build
# Production dependencies only. `pnpm prune` does not work across a workspace, so reinstall from
# the store just filled; dist/ stays. The root postinstall generates the Prisma client again:
# prisma and @prisma/client are production dependencies (the migration runs from this image).
RUN --mount=type=cache,id=tsp-pnpm-store,target=/pnpm/store \
    rm -rf node_modules packages/*/node_modules services/*/node_modules \
    && pnpm install --frozen-lockfile --prod --prefer-offline

FROM base AS runtime
ENV NODE_ENV=production
# Files stay owned by root: the service user can read the code but not change it.
COPY --from=build /app /app
USER node
EXPOSE 8080 8081 8082 8083
# Liveness of whichever service runs: start-one.js's service listens on its *_PORT (the contract
# defaults unless set). Compose and Kubernetes define their own checks per service.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "scripts/healthcheck.js"]
# node is PID 1 and handles SIGTERM itself (services exit within 10 s), so no init wrapper.
CMD ["node", "scripts/start-one.js", "ingest"]
