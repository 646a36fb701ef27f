/**
 * What each program in examples/ must print when it succeeds, shared by the
 * test that runs them in this repository and the one that runs sdk-trace.ts
 * from the packed package. Every program in examples/ needs an entry.
 */
export const EXPECTED_OUTPUT: Record<string, RegExp[]> = {
  'quickstart.sh': [
    /^completed\nNoted: you are in Oslo\. Pack a warm coat and good boots\.\ntokens 284 in, 32 out; \$0\.0000\d+$/m,
    /^ +1 event: tool_call$/m,
    /^ +1 event: done$/m,
    /^execution \S+: completed$/m,
    /^execution completed .*What should I pack\?.*\nexecution completed .*what to pack\?.*\nexecution completed .*Oslo in winter\?.*$/m,
    /^export AGENTBASE_URL=http:\/\/\S+ AGENTBASE_API_KEY=ab_\S+$/m,
  ],
  'sdk-trace.ts': [
    /^exported: 5 items sent, 0 rejected, 0 dropped$/m,
    /^execution \S+: completed, 3 spans, 1762 tokens in, 135 out, \$0\.000\d+$/m,
    /^cost today on gpt-4o-mini: \$\S+ \(\d+ tokens\)$/m,
    /^an unknown trace: 404 not_found$/m,
  ],
  'workflow.sh': [
    /^run \S+: completed$/m,
    /^research answered: \{"city":"Oslo","facts":\["fjord to the south","six hours of daylight in December"\]\}$/m,
    /^write answered: +Oslo in winter: a fjord to the south and six hours of daylight\./m,
  ],
  'memory.sh': [
    /^6$/m,
    /^\? When is my trip to Portugal\?\n[\d.]+ I fly to Lisbon on 14 March.*\n  by text alone: 0 hits$/m,
    /^\? Which dishes can I eat at dinner\?\n[\d.]+ I am vegetarian.*\n  by text alone: 0 hits$/m,
    /^\? What does my sibling do for a living\?\n[\d.]+ My sister Priya.*\n  by text alone: 0 hits$/m,
    /^ +vector rank 1 \(similarity [\d.]+\), text rank 1, importance x0\.87, recency x1\.00, score [\d.]+$/m,
    // the new content first, and the superseded one nowhere
    /supersedes.*\n[\d.]+ I fly to Lisbon on 21 March now; the meetup moved a week\.\n(?:[\d.]+ (?!I fly)[^\n]*\n)*== /,
    /^Lisbon airport\ntrue\n[\d.]+ Lisbon airport \/ The red metro line runs from the airport/m,
  ],
  'otlp.sh': [/^agent [0-9a-f-]{36}, session otlp-chat-1$/m, /^tokens 812 in, 95 out; \$0\.000\d+$/m],
};
