# Build: compile TypeScript with the dev toolchain.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund

# Run: production dependencies and the compiled daemon only.
FROM node:24-bookworm-slim
# tini as PID 1: forwards SIGTERM to the daemon and reaps any orphaned process.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    # A 32 MB young generation (Node's default is 16): fewer objects of in-flight requests promoted to
    # the old generation. 64 trades memory for events-path throughput (docs/operations.md, "Memory";
    # the measurements are in bench/results/).
    NODE_OPTIONS=--max-semi-space-size=32
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
RUN mkdir -p /etc/langfuse-otel-receiver /app/data && cp config/pipeline.yaml /etc/langfuse-otel-receiver/pipeline.yaml \
 && chown node:node /app/data
# Everything the daemon writes goes to /app/data (the spool): the root filesystem can be read-only.
VOLUME /app/data
USER node
EXPOSE 4317 4318 3000 8888 13133
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:13133/livez').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# GC on the main thread only: each process has about one core (workers: auto is the CPU quota),
# and V8's concurrent marking and sweeping threads competing with it for that core lengthened the
# latency tail in `npm run bench` (docs/operations.md, "Memory"). Not settable through NODE_OPTIONS.
ENTRYPOINT ["tini", "--", "node", "--single-threaded-gc", "dist/src/cli.js"]
CMD ["run", "--config", "/etc/langfuse-otel-receiver/pipeline.yaml"]
