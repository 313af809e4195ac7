#!/bin/sh
# Creates the pipeline's topics. The coordinator and the ingest never let
# Kafka auto-create a topic (allowAutoTopicCreation: false), so the stack
# creates them once, before either starts. TOPICS is "name:partitions ...";
# --if-not-exists makes a second `up` a no-op.
set -eu
for spec in $TOPICS; do
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP_SERVER" --create --if-not-exists \
    --topic "${spec%:*}" --partitions "${spec#*:}" --replication-factor 1
done
