#!/usr/bin/env bash
# examples/memory.sh — an agent's memory and the knowledge base over HTTP: what a user said in
# two conversations saved in one batch, found again from questions in other words (hybrid
# search, with its explanation), a changed fact superseding the old one, and a knowledge item
# transferred to the agent. The server's default embedder, the bundled model, embeds them:
# no key and no network. Needs curl and node, and a started server.
# Environment:
#   AGENTBASE_URL      the server (default http://127.0.0.1:4100)
#   AGENTBASE_API_KEY  a key with agents:write, memory:write and memory:read
#                      (examples/quickstart.sh prints one)
set -euo pipefail
source "$(dirname "$0")/lib/api.sh"

URL="${AGENTBASE_URL:-http://127.0.0.1:4100}"
TOKEN="${AGENTBASE_API_KEY:?set AGENTBASE_API_KEY (examples/quickstart.sh prints one)}"
N="$(date +%s)-$RANDOM"
A="/v1/agents/concierge-$N"

# Prints each hit of a search answer as "score content", on one line.
hits() {
  node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      for (const m of JSON.parse(s).items) console.log(`${m.score.toFixed(2)} ${m.content.replace(/\s*\n+\s*/g, " / ")}`);
    });'
}

echo "== the agent concierge-$N, with memory"
api POST /v1/agents "{\"name\": \"Concierge\", \"slug\": \"concierge-$N\", \"model\": \"gpt-4o-mini\",
  \"memoryEnabled\": true, \"memoryType\": \"long_term\", \"status\": \"active\"}" >/dev/null

echo "== six things the user said in two conversations, saved in one batch"
api POST "$A/memories/batch" "$(cat <<JSON
{ "items": [
  { "sessionId": "trip-$N", "memoryType": "fact", "importance": 0.8,
    "content": "I fly to Lisbon on 14 March for the PGConf meetup." },
  { "sessionId": "trip-$N", "memoryType": "preference", "importance": 0.6,
    "content": "I always want an aisle seat on long flights." },
  { "sessionId": "trip-$N", "memoryType": "task", "importance": 0.7,
    "content": "Renew my passport before the end of February." },
  { "sessionId": "chat-$N", "memoryType": "fact", "importance": 0.5,
    "content": "My sister Priya is a marine biologist in Auckland." },
  { "sessionId": "chat-$N", "memoryType": "preference", "importance": 0.8,
    "content": "I am vegetarian, so no meat, but fish is fine." },
  { "sessionId": "chat-$N", "memoryType": "conversation", "importance": 0.1,
    "content": "The weather was grey and rainy all week." }
] }
JSON
)" | get items.length

echo "== questions in other words"
for Q in "When is my trip to Portugal?" "Which dishes can I eat at dinner?" "What does my sibling do for a living?"; do
  echo "? $Q"
  api POST "$A/memories/search" "{\"query\": \"$Q\", \"limit\": 1}" | hits
  echo "  by text alone: $(api POST "$A/memories/search" "{\"query\": \"$Q\", \"mode\": \"text\"}" | get items.length) hits"
done

echo "== why the trip memory ranks first for a question that shares its words"
api POST "$A/memories/search" '{"query": "flight to Lisbon", "limit": 1, "explain": true}' | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const m = JSON.parse(s).items[0];
    console.log(`${m.content}\n  vector rank ${m.vectorRank} (similarity ${m.similarity.toFixed(2)}), text rank ${m.textRank},` +
      ` importance x${m.importanceFactor.toFixed(2)}, recency x${m.recencyFactor.toFixed(2)}, score ${m.score.toFixed(2)}`);
  });'

echo "== the trip moved: the new content supersedes the old memory, which search no longer returns"
TRIP=$(api POST "$A/memories/search" '{"query": "Lisbon", "mode": "text", "limit": 1}' | get items.0.id)
api PATCH "$A/memories/$TRIP" '{"content": "I fly to Lisbon on 21 March now; the meetup moved a week."}' >/dev/null
api POST "$A/memories/search" '{"query": "When do I fly to Lisbon?", "limit": 5, "memoryTypes": ["fact"]}' | hits

echo "== what another agent, guide-$N, learned: a knowledge item, searched, then transferred to the concierge"
api POST /v1/agents "{\"name\": \"Guide\", \"slug\": \"guide-$N\", \"model\": \"gpt-4o-mini\"}" >/dev/null
ITEM=$(api POST /v1/knowledge "{\"sourceAgentId\": \"guide-$N\", \"domain\": \"travel\", \"confidence\": 0.9,
  \"tags\": [\"lisbon\"], \"content\": {\"title\": \"Lisbon airport\",
  \"description\": \"The red metro line runs from the airport to the city centre in about 25 minutes.\"}}" | get id)
api POST /v1/knowledge/search '{"query": "airport metro", "limit": 1}' | get items.0.content.title
api POST "/v1/knowledge/$ITEM/transfers" "{\"targetAgentId\": \"concierge-$N\", \"method\": \"direct\"}" | get success
api POST "$A/memories/search" '{"query": "How do I get from the airport into town?", "limit": 1}' | hits
