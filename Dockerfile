# syntax=docker/dockerfile:1
# One image for all four services; the command picks the service:
#   docker build -t tsp .
#   docker run tsp node scripts/start-one.js screener      (default: ingest)
#   docker run tsp pnpm db:migrate                         (the one-shot migration)
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
# Drop dev dependencies. `pnpm prune` does not work across a workspace, so reinstall production
# dependencies only, from the store just filled; dist/ and the generated client stay. Without
# scripts: postinstall's `prisma generate` resolves @prisma/client from the repository root, where
# it is a dev dependency, and would try to `pnpm add` it; the client is generated already.
RUN --mount=type=cache,id=tsp-pnpm-store,target=/pnpm/store \
    rm -rf node_modules packages/*/node_modules services/*/node_modules \
    && pnpm install --frozen-lockfile --prod --prefer-offline --ignore-scripts

FROM base AS runtime
ENV NODE_ENV=production
# Files stay owned by root: the service user can read the code but not change it.
COPY --from=build /app /app
USER node
EXPOSE 8080 8081 8082 8083
# node is PID 1 and handles SIGTERM itself (services exit within 10 s), so no init wrapper.
CMD ["node", "scripts/start-one.js", "ingest"]
