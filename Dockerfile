# drone-dynamic-agents as a daemon container. What to set and how to deploy it: docs/deploy.md.
#
#   docker build -t drone-dynamic-agents .
#   docker run -d --name dda -p 9090:9090 \
#     -e DRONE_SERVER_HOST=drone.example.com -e DRONE_SERVER_TOKEN=<admin token> \
#     -e DRONE_RPC_SECRET_REF=/ci/drone/rpc-secret \
#     -e DDA_ECS_CLUSTER=ci-agents -e DDA_AWS_REGION=eu-west-1 \
#     -e DDA_HTTP_TOKEN=<openssl rand -hex 32> \
#     drone-dynamic-agents
#
# With no CI server configured it exits 2 with one line saying what to set (DDA_REQUIRE_CI_SERVER
# below), rather than replaying the demo as `npm start` does and exiting 0 into a restart loop.
# Its log is JSON lines on stdout. `npm run container:check` builds and runs this file with
# podman (scripts/container-check.sh).

# The base of both stages: Node 22 LTS on Debian bookworm. A build argument so that machines that
# cannot pull it can build from one made locally (scripts/container-check.sh does).
ARG BASE_IMAGE=node:22-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY machines ./machines
COPY bench ./bench
# `npm ci` builds (the prepare script runs tsc); then the dev dependencies go.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund && rm -rf dist/bench

FROM ${BASE_IMAGE}
# tini as PID 1: the kernel gives PID 1 no default signal actions, so a SIGTERM that comes while
# the daemon starts (before its handler is installed: the AWS SDK loading, the CI server probed)
# would be ignored until the SIGKILL; tini forwards it and reaps. In the image rather than left
# to `docker run --init` / ECS initProcessEnabled, which an operator can forget.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
ENV NODE_ENV=production \
    DDA_REQUIRE_CI_SERVER=true \
    DDA_HTTP_LISTEN=0.0.0.0:9090
WORKDIR /app
COPY package.json ./
COPY data ./data
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The `node` user of the base (uid 1000), by number so that a runAsNonRoot check can see it.
USER 1000:1000
# The status page, /metrics, /healthz and /readyz (DDA_HTTP_LISTEN). Beyond loopback every route
# but the probes asks for DDA_HTTP_TOKEN; the daemon refuses to start without one.
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/src/cli/main.js", "healthcheck"]
# Last, so that a new revision or date does not rebuild the layers above.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="drone-dynamic-agents" \
      org.opencontainers.image.description="Keeps a pool of CI build agents (EC2 + ECS) sized to the CI server's queue." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT"
# SIGTERM leaves the fleet for the next daemon to adopt; add --drain-on-exit to drain it instead.
# Give it runtime.shutdownTimeoutSeconds (20 s by default) before the SIGKILL: docker stop -t 30.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/cli/main.js"]
CMD ["run"]
