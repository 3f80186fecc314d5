# drone-dynamic-agents as a daemon container.
#   docker build -t drone-dynamic-agents .
#   docker run --rm -e DRONE_SERVER_HOST=... -e DRONE_SERVER_TOKEN=... -e DDA_ECS_CLUSTER=... drone-dynamic-agents
# Lifecycle logs are JSON lines on stdout, ready to pipe to monitoring.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY machines ./machines
COPY bench ./bench
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY data ./data
USER node
# SIGTERM leaves the fleet for the next daemon to adopt; add --drain-on-exit to drain it instead.
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["run"]
