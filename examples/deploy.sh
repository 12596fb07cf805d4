#!/usr/bin/env bash
# A deploy step for an AI system governed by Threshold.
#
# The manifest lives in the repository next to the code it describes. Before shipping,
# `threshold deploy-check` declares that manifest to Threshold (one CloudEvent, idempotent by
# --source and --id) and asks the production gate about the *declared* scope:
#
#   exit 0  the declared scope is approved: deploy
#   exit 1  it awaits revalidation (or was rejected, or production is suspended): do not deploy
#   exit 2  bad input: the manifest is invalid, the system is unknown, or the API is unreachable
#
# A material change (new write access, a new tool, more autonomy, regulated data, ...) opens a
# revalidation request for the roles the policy names; production keeps running the approved
# scope meanwhile. Re-running the pipeline after the approval deploys.
#
# Environment: THRESHOLD_URL, THRESHOLD_TOKEN (an emitter token:
#   threshold tokens issue --principal ci@example.com --role emitter)
# CI_PIPELINE_URL and CI_DEPLOY_ID name this run (GitLab/GitHub/Jenkins all have equivalents).
set -euo pipefail

MANIFEST="${MANIFEST:-ai-system.yaml}"
PIPELINE="${CI_PIPELINE_URL:-local://$(hostname)/deploy}"
DEPLOY_ID="${CI_DEPLOY_ID:-$(git rev-parse HEAD 2>/dev/null || date +%s)}"

status=0
threshold deploy-check --manifest "$MANIFEST" --environment production \
  --source "$PIPELINE" --id "deploy-check-$DEPLOY_ID" || status=$?

case "$status" in
  0)
    echo "Threshold: declared scope approved; deploying."
    ./scripts/release.sh "$MANIFEST"   # your real deploy
    ;;
  1)
    echo "Threshold: not deploying; the declared scope is not approved (reasons above)." >&2
    echo "The approvers named above decide with: threshold approve <request> (or in Slack)." >&2
    exit 1
    ;;
  *)
    echo "Threshold: deploy-check failed with input error $status; fix the manifest or setup." >&2
    exit "$status"
    ;;
esac

# Changes that are not in the manifest can be told as events, e.g. after a model upgrade:
#   threshold event model-change support-assistant --provider anthropic \
#     --name claude-sonnet --version 2026-11 --source "$PIPELINE" --id "model-$DEPLOY_ID"
# or a scope change without editing the manifest:
#   threshold event scope-change support-assistant --add-write crm.accounts \
#     --add-tool send_email --autonomy autonomous --source "$PIPELINE" --id "$DEPLOY_ID"
