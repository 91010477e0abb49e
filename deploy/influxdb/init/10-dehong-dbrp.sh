#!/bin/bash
# Run once by the influxdb:2.7 image, right after its first setup (DOCKER_INFLUXDB_INIT_MODE=setup), with the influx CLI
# already pointed at the setup server and holding the admin token. It maps the v1 database "dehong" (retention
# policy "autogen", the default) to the bucket, so the v1 paths every part of the service uses work:
# line protocol to /write?db=dehong and InfluxQL over /query?db=dehong (also Grafana's InfluxQL data source).
# The file must stay executable: the image runs only executable *.sh files in /docker-entrypoint-initdb.d.
set -euo pipefail

db="${INFLUX_DB:-dehong}"
influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${db}" \
  --rp autogen \
  --default
echo "mapped database ${db} (rp autogen) to bucket ${DOCKER_INFLUXDB_INIT_BUCKET} (${DOCKER_INFLUXDB_INIT_BUCKET_ID})"
