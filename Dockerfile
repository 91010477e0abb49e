# The Dehong textile telemetry service: one image for the broker, the ingest writer and the API (and the
# simulators); docker-compose.yml runs one container per service with a different command and a shared /data
# volume (registry and spool are SQLite files used by all three; the service secret lives there too).
#
#   docker build -t dehong-telemetry .
#   docker run -v dehong-data:/data -e INFLUX_URL=http://influx:8086 dehong-telemetry node --max-old-space-size=192 dist/broker/main.js
#
# The services run compiled: the build stage runs `npm run build` (dist/, with the dashboard and the simulator
# scenarios beside the code), the runtime image holds dist/ and the production packages only (no tsx, no compiler).

# ---- production packages (with a compiler in case better-sqlite3 has no prebuilt binary for this platform) ----
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- build: every package (TypeScript, tsx) without install scripts (no native module is loaded), then dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# Everything .dockerignore lets through: tsconfig files, common/, analytics/, broker/, ingest/, api/ (with the
# built dashboard in api/public/), simulators/, scripts/ and deploy/seed-demo-firms.ts.
COPY . .
RUN npm run build

# ---- runtime ---------------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HTTP_PORT=8080 \
    MQTT_PORT=1883
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# package.json for "type": "module" (dist/ is ES modules).
COPY package.json ./
COPY --from=build /app/dist ./dist
# Directories for the named volumes, owned by the unprivileged user so a fresh volume inherits the ownership.
RUN mkdir -p /data /var/lib/dehong-sim \
 && chown node:node /data /var/lib/dehong-sim
USER node
VOLUME ["/data"]
EXPOSE 8080 1883
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The API by default (the HEALTHCHECK above checks it); compose gives the broker and the ingest writer their own
# command and health check: node [--max-old-space-size=192] dist/broker/main.js | dist/ingest/main.js.
CMD ["node", "dist/api/main.js"]
