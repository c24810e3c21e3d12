# The sddc-ops worker as a container: Node 20 slim, runs as the unprivileged `node` user.
# Mount the config at /etc/sddc-ops/config.yaml and the secrets it references (file:/run/secrets/NAME,
# or env:NAME from the environment); point it at Temporal with TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE
# (and TEMPORAL_API_KEY or a temporal.toml profile for Temporal Cloud). Metrics: port 9464.
#   docker build -t sddc-ops .
#   docker run -d --name sddc-ops-worker -v /etc/sddc-ops:/etc/sddc-ops:ro -v /srv/sddc-secrets:/run/secrets:ro \
#     -e TEMPORAL_ADDRESS=temporal.internal:7233 -p 9464:9464 sddc-ops
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY activities ./activities
COPY workflows ./workflows
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
# A V8 heap cap: without one, garbage grows towards gigabytes before it is collected (docs/deploy.md §4).
ENV NODE_OPTIONS=--max-old-space-size=256
# Two malloc arenas, not 8 per core: the worker's threads (Temporal's core, libuv's pool) otherwise
# each keep their own, about 45 MiB more resident at 200 backups at once for no CPU gained (§4).
ENV MALLOC_ARENA_MAX=2
WORKDIR /opt/sddc-ops
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./
COPY config/sddc-ops.example.yaml config/sddc-ops.schema.json ./config/
USER node
EXPOSE 9464
VOLUME ["/etc/sddc-ops", "/run/secrets"]
ENTRYPOINT ["node", "dist/src/cli/main.js", "worker"]
CMD ["--config", "/etc/sddc-ops/config.yaml", "--metrics", "0.0.0.0:9464"]
