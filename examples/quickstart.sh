#!/usr/bin/env bash
# examples/quickstart.sh — the first minutes with agentbase over plain HTTP: sign up,
# make an API key, create an agent that replays examples/scripts/greeter.json and run it
# three ways (sync, streamed, queued). Needs curl and node, and a server started with
#   AGENTBASE_SCRIPTS_DIR=examples/scripts npm start
# Environment:
#   AGENTBASE_URL       the server (default http://127.0.0.1:4100)
#   AGENTBASE_EMAIL     the account to create (default a new quickstart-…@example.com)
#   AGENTBASE_PASSWORD  its password (default correct-horse-battery-staple)
# Ends by printing the export line the other examples read.
set -euo pipefail
source "$(dirname "$0")/lib/api.sh"

URL="${AGENTBASE_URL:-http://127.0.0.1:4100}"
EMAIL="${AGENTBASE_EMAIL:-quickstart-$(date +%s)-$RANDOM@example.com}"
PASSWORD="${AGENTBASE_PASSWORD:-correct-horse-battery-staple}"

echo "== sign up $EMAIL: a user, and an organization they own"
TOKEN=$(api POST /v1/auth/signup "{\"email\": \"$EMAIL\", \"password\": \"$PASSWORD\",
  \"organizationName\": \"Quickstart\"}" | get tokens.accessToken)

echo "== room for the examples' agents: they make 11, and a new organization may have 10"
api PATCH /v1/org "{\"version\": $(api GET /v1/org | get version), \"maxAgents\": 25}" | get maxAgents

echo "== an API key for the examples (its secret is shown this once)"
TOKEN=$(api POST /v1/api-keys '{"name": "examples", "scopes": ["agents:read", "agents:write",
  "executions:read", "executions:write", "workflows:read", "workflows:write", "orgs:read",
  "memory:read", "memory:write", "plans:read", "plans:write", "tasks:read", "tasks:write",
  "evals:read", "evals:write", "evals:override", "webhooks:read", "webhooks:write"]}' | get key)

echo "== the agent greeter, created active (version 1.0.0) in one call"
AGENT=$(create_agent greeter greeter '["context_set"]')
echo "agent $AGENT"

echo "== a run, answered when it is done"
RUN=$(api POST /v1/agents/greeter/runs \
  '{"input": "I am in Oslo. What should I pack?", "sessionToken": "chat-42", "tags": ["quickstart"], "limits": {"maxSteps": 5}}')
echo "$RUN" | get status
echo "$RUN" | get output.content
echo "tokens $(echo "$RUN" | get promptTokens) in, $(echo "$RUN" | get completionTokens) out; \$$(echo "$RUN" | get costUsd)"

echo "== a run streamed as server-sent events (their names; each data line is JSON)"
EVENTS=$(curl -sS -N --fail-with-body -X POST "$URL/v1/agents/greeter/runs" \
  -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"input": "Oslo again: what to pack?", "sessionToken": "chat-42", "mode": "stream"}')
echo "$EVENTS" | grep '^event:' | uniq -c
echo "$EVENTS" | grep -q '^event: done'

echo "== a run queued for the job worker, then read until it ends"
EXECUTION=$(api POST /v1/agents/greeter/runs \
  '{"input": "And for Oslo in winter?", "sessionToken": "chat-42", "mode": "async"}' | get executionId)
for _ in $(seq 1 60); do
  STATUS=$(api GET "/v1/executions/$EXECUTION" | get status)
  case "$STATUS" in queued | pending | running) sleep 0.5 ;; *) break ;; esac
done
echo "execution $EXECUTION: $STATUS"
[ "$STATUS" = completed ]

echo "== the conversation chat-42: its three runs in order"
api GET /v1/sessions/chat-42/timeline | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    for (const e of JSON.parse(s).data) console.log(`${e.type} ${e.item.status} ${JSON.stringify(e.item.input)}`);
  });'

echo
echo "# for the other examples:"
echo "export AGENTBASE_URL=$URL AGENTBASE_API_KEY=$TOKEN"
