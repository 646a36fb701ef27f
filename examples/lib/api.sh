# examples/lib/api.sh — helpers the shell examples share (they source it); needs curl and node.
#
#   api METHOD PATH [JSON]   one request to $URL, with "Authorization: Bearer $TOKEN" when TOKEN is set;
#                            prints the answer, or prints the error to stderr and fails
#   get FIELD                prints a field of the JSON on stdin: id, tokens.accessToken, data.0.status
#   create_agent SLUG SCRIPT [TOOLS]
#                            an agent that replays examples/scripts/SCRIPT.json, created active (its
#                            configuration published as version 1.0.0) in one call, so it can run;
#                            TOOLS is a JSON list. Prints its id.

api() {
  local out status
  out=$(curl -sS -X "$1" "$URL$2" ${TOKEN:+-H "authorization: Bearer $TOKEN"} \
    ${3:+-H 'content-type: application/json' --data "$3"} -w '\n%{http_code}') || return 1
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  if [ "$status" -ge 400 ]; then
    echo "$1 $2 answered $status: $out" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

get() {
  node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      if (!s.trim()) process.exit(1); // api already said why
      let v = JSON.parse(s);
      for (const k of process.argv[1].split(".")) v = v == null ? undefined : v[k];
      if (v === undefined) {
        console.error(`no ${process.argv[1]} in ${s}`);
        process.exit(1);
      }
      console.log(typeof v === "object" ? JSON.stringify(v) : String(v));
    });' "$1"
}

create_agent() {
  api POST /v1/agents "$(printf '{"name": "%s", "slug": "%s", "model": "gpt-4o-mini", "tools": %s,
    "modelSettings": {"provider": "scripted", "script": "%s"}, "status": "active"}' "$1" "$1" "${3:-[]}" "$2")" | get id
}
