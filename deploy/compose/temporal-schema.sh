#!/bin/sh
# Create Temporal's two PostgreSQL databases and bring their schemas to the image's version,
# as Temporal's own compose samples do (temporal-sql-tool from temporalio/admin-tools).
# Idempotent: a second run finds the databases and applies no migration twice.
set -eu
SCHEMA=/etc/temporal/schema/postgresql/v12
tool() {
  db="$1"
  shift
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" \
    -u "$POSTGRES_USER" --db "$db" "$@"
}
for pair in temporal:temporal temporal_visibility:visibility; do
  name="${pair%%:*}"
  echo "schema: $name"
  tool "$name" create
  tool "$name" setup-schema -v 0.0
  tool "$name" update-schema -d "$SCHEMA/${pair##*:}/versioned"
done
echo "Temporal schemas are current"
