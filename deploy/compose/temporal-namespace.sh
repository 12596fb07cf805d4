#!/bin/sh
# Register the namespace Threshold uses (temporalio/server does not create one by itself).
set -eu
ns="${NAMESPACE:-default}"
temporal operator cluster health --address "$TEMPORAL_ADDRESS"
temporal operator namespace describe -n "$ns" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$ns" --retention "${RETENTION:-30d}" --address "$TEMPORAL_ADDRESS"
echo "namespace $ns is registered"
