# The Dehong textile telemetry service: one image for the broker, the ingest writer and the API (and the
# simulators); docker-compose.yml runs one container per service with a different command and a shared /data
# volume (registry and spool are SQLite files used by all three; the service secret lives there too).
#
#   docker build -t dehong-telemetry .
#   docker run -v dehong-data:/data -e INFLUX_URL=http://influx:8086 dehong-telemetry node --import tsx broker/main.ts
#
# Services run from TypeScript through tsx (a runtime dependency), the same commands as `npm run broker|ingest|api`.

# ---- dependencies (with a compiler in case better-sqlite3 has no prebuilt binary for this platform) ----------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime -------------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HTTP_PORT=8080 \
    MQTT_PORT=1883
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Everything .dockerignore lets through: package files, tsconfig, common/, broker/, ingest/, api/, simulators/,
# scripts/ and deploy/seed-demo-firms.ts.
COPY . .
# Directories for the named volumes, owned by the unprivileged user so a fresh volume inherits the ownership.
RUN mkdir -p /data /var/lib/dehong-sim \
 && chown node:node /data /var/lib/dehong-sim
USER node
VOLUME ["/data"]
EXPOSE 8080 1883
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The API by default (the HEALTHCHECK above checks it); compose gives the broker and the ingest writer their own
# command and health check: node --import tsx broker/main.ts | ingest/main.ts.
CMD ["node", "--import", "tsx", "api/main.ts"]
