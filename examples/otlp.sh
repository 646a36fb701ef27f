#!/usr/bin/env bash
# examples/otlp.sh — what an OpenTelemetry exporter sends, by hand: one trace as OTLP/HTTP
# JSON with an invoke_agent span and a chat span under it (GenAI semantic conventions),
# then the execution agentbase made of it, with tokens and cost. Needs curl and node.
# Environment:
#   AGENTBASE_URL      the server (default http://127.0.0.1:4100)
#   AGENTBASE_API_KEY  a key with executions:write and executions:read (examples/quickstart.sh prints one)
#   AGENTBASE_AGENT    the slug of an agent of the organization (default greeter, made by quickstart.sh)
set -euo pipefail
source "$(dirname "$0")/lib/api.sh"

URL="${AGENTBASE_URL:-http://127.0.0.1:4100}"
TOKEN="${AGENTBASE_API_KEY:?set AGENTBASE_API_KEY (examples/quickstart.sh prints one)}"
AGENT="${AGENTBASE_AGENT:-greeter}"

TRACE=$(node -e 'console.log(crypto.randomBytes(16).toString("hex"))')
ROOT=$(node -e 'console.log(crypto.randomBytes(8).toString("hex"))')
CHAT=$(node -e 'console.log(crypto.randomBytes(8).toString("hex"))')
NOW=$(date +%s)

echo "== one trace, two spans; an empty answer means every span was taken (else partialSuccess says why)"
api POST /v1/otlp/v1/traces "$(cat <<JSON
{ "resourceSpans": [{
    "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "otlp-example" } }] },
    "scopeSpans": [{ "scope": { "name": "example" }, "spans": [
      { "traceId": "$TRACE", "spanId": "$ROOT", "name": "invoke_agent $AGENT", "kind": 1,
        "startTimeUnixNano": "${NOW}000000000", "endTimeUnixNano": "$((NOW + 2))000000000",
        "attributes": [
          { "key": "gen_ai.operation.name", "value": { "stringValue": "invoke_agent" } },
          { "key": "gen_ai.agent.name", "value": { "stringValue": "$AGENT" } },
          { "key": "gen_ai.conversation.id", "value": { "stringValue": "otlp-chat-1" } } ] },
      { "traceId": "$TRACE", "spanId": "$CHAT", "parentSpanId": "$ROOT", "name": "chat gpt-4o-mini", "kind": 3,
        "startTimeUnixNano": "${NOW}100000000", "endTimeUnixNano": "$((NOW + 1))900000000",
        "attributes": [
          { "key": "gen_ai.operation.name", "value": { "stringValue": "chat" } },
          { "key": "gen_ai.provider.name", "value": { "stringValue": "openai" } },
          { "key": "gen_ai.request.model", "value": { "stringValue": "gpt-4o-mini" } },
          { "key": "gen_ai.usage.input_tokens", "value": { "intValue": 812 } },
          { "key": "gen_ai.usage.output_tokens", "value": { "intValue": 95 } } ] } ] }] }] }
JSON
)"

echo "== the execution made of trace $TRACE"
EXECUTION=$(api GET "/v1/traces/$TRACE" | get executions.0)
# The conversation id names a session (created on first sight); the execution holds its id.
SESSION=$(api GET "/v1/sessions/$(echo "$EXECUTION" | get sessionId)/timeline" | get session.sessionToken)
echo "agent $(echo "$EXECUTION" | get agentId), session $SESSION"
echo "tokens $(echo "$EXECUTION" | get promptTokens) in, $(echo "$EXECUTION" | get completionTokens) out; \$$(echo "$EXECUTION" | get costUsd)"
