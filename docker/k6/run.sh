#!/bin/sh
# Runs the pipeline load test (packages/load/k6/pipeline.ts, mounted at /load)
# against the ingest and pushes k6's metrics to Prometheus by remote write
# (K6_PROMETHEUS_RW_SERVER_URL and K6_PROMETHEUS_RW_TREND_STATS come from the
# compose file). K6_PROFILE names a file in packages/load/profiles (default
# steady); K6_RUN_ID becomes both the testid tag the load-run dashboard filters
# on and the batch id prefix, so it is generated per run unless given: a fixed
# one would make a second run re-register the first run's batches. Extra
# arguments (`... run --rm k6 --no-thresholds`) go to `k6 run`.
set -eu
run_id="${K6_RUN_ID:-k6-$(date +%s)}"
exec k6 run -o experimental-prometheus-rw --tag "testid=$run_id" \
  -e "RUN_ID=$run_id" -e "PROFILE=../profiles/${K6_PROFILE:-steady}.json" -e "BASE_URL=$K6_BASE_URL" \
  "$@" /load/k6/pipeline.ts
