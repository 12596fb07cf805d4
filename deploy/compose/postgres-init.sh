#!/bin/sh
# First start of the PostgreSQL volume: Threshold's own role and database, apart from Temporal's.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v pw="$THRESHOLD_DB_PASSWORD" <<'SQL'
CREATE ROLE threshold LOGIN PASSWORD :'pw';
CREATE DATABASE threshold OWNER threshold;
SQL
