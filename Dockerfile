# One image for every process of the service: the API (default command), the worker
# (`node dist/worker/main.js`), migrations (`node dist/scripts/migrate.js`) and the sandbox
# KYC provider (`node dist/scripts/kyc-sandbox.js`). See docker-compose.yml.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY activities ./activities
COPY cli ./cli
COPY core ./core
COPY scripts ./scripts
COPY worker ./worker
COPY workflows ./workflows
# `npm run build` also copies the migrations' .sql files next to the compiled runner.
# The worker bundles workflows from dist/workflows at start-up: check now, not when it starts.
RUN npm run build \
  && test -f dist/core/db/migrations/001_init.sql \
  && test -f dist/workflows/index.js \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 3000
# SIGTERM goes straight to node (exec form, no shell in between): the API and worker drain on it.
CMD ["node", "dist/api/main.js"]
