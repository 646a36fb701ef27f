#!/usr/bin/env bash
# examples/workflow.sh — a two-step workflow end to end: the agent research answers JSON
# (examples/scripts/researcher.json), the agent write gets part of it as its input
# (examples/scripts/writer.json); the run proceeds on the job queue and is read until it ends.
# Needs curl and node, and a server started with AGENTBASE_SCRIPTS_DIR=examples/scripts.
# Environment:
#   AGENTBASE_URL      the server (default http://127.0.0.1:4100)
#   AGENTBASE_API_KEY  a key with agents:write, workflows:write and workflows:read
#                      (examples/quickstart.sh prints one)
set -euo pipefail
source "$(dirname "$0")/lib/api.sh"

URL="${AGENTBASE_URL:-http://127.0.0.1:4100}"
TOKEN="${AGENTBASE_API_KEY:?set AGENTBASE_API_KEY (examples/quickstart.sh prints one)}"
# Slugs are unique in an organization: a suffix lets the example run again and again.
N="$(date +%s)-$RANDOM"

echo "== two agents"
create_agent "researcher-$N" researcher >/dev/null
create_agent "writer-$N" writer >/dev/null

echo "== the workflow: research, then write from research's facts"
WORKFLOW=$(api POST /v1/workflows "$(cat <<JSON
{
  "name": "city-brief-$N",
  "status": "active",
  "steps": [
    { "key": "research", "type": "agent", "agent": "researcher-$N", "input": "$.input.city" },
    { "key": "write", "type": "agent", "agent": "writer-$N", "dependsOn": ["research"],
      "input": "$.steps.research.output.facts", "retries": 2 }
  ]
}
JSON
)" | get id)

echo "== a run of it, read until it ends"
RUN=$(api POST "/v1/workflows/$WORKFLOW/executions" '{"input": {"city": "Oslo"}}' | get id)
for _ in $(seq 1 120); do
  DONE=$(api GET "/v1/workflow-executions/$RUN")
  STATUS=$(echo "$DONE" | get status)
  case "$STATUS" in completed | failed | cancelled) break ;; *) sleep 0.5 ;; esac
done
echo "run $RUN: $STATUS"
echo "research answered: $(echo "$DONE" | get steps.0.output)"
echo "write answered:    $(echo "$DONE" | get steps.1.output)"
[ "$STATUS" = completed ]
