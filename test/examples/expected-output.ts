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
  'evals-and-webhooks.ts': [
    /^webhook \S+: eval\.\*, agent\.version\.created, secret whsec_…$/m,
    /^agent support-bot: current \d+\.\d+\.\d+, candidate \d+\.\d+\.\d+$/m,
    /^eval\.run\.completed \(signature verified\): completed, 2 passed, 1 failed$/m,
    /^ +passed shipping day: /m,
    /^ +failed refund time: /m,
    /^promote \S+: 409 eval_gate_failed$/m,
    /^forced: current version \S+, forced true$/m,
  ],
  'travel-planner.ts': [
    /^plan \S+: version 1, 5 days, status draft$/m,
    /^turn 1: Hotel Alfama Patio, 5 nights; plan version 3, status completed$/m,
    // the coordinator's second turn sees the first in its session (its script expects the hotel there)
    /^turn 2: Train to Sintra at 9:11, .*; plan version 4$/m,
    /^diff 1\.\.4: \d+ patch operations; status: "draft" → "completed"; .*travel\.itinerary changed/m,
    /^cost: plan \$(\d+\.\d+) = 6 executions \$\1; \d+ tokens; sessions 1$/m,
    /^messages on the plan: 4: (travel-coordinator -> travel-(flights|hotels|activities)(, |$)){4}/m,
    /^shared: Lisbon in May, itinerary day3 "Train to Sintra at 9:11,…", costs shown: false$/m,
    /^wrong password: 401 invalid_credentials; third open: 410 share_exhausted$/m,
    /^another organization: plan 404, 0 plans, 0 messages$/m,
  ],
  'campaign-planner.ts': [
    /^signals recorded: 3$/m,
    /^campaign \S+: version 1, 1 idea and 1 channel plan from the template$/m,
    /^campaign version 3: linkedin 45 %, webinar 30 %, email 25 %; a mix over 100 %: 400 validation_failed$/m,
    /^decision idea_generation: confidence 0\.8, 2 steps: analyze_market_signals -> generate_ideas$/m,
    /^decision channel_mix: confidence 0\.72, 2 steps: weigh_channels -> allocate_budget$/m,
    /^trace: llm_call, reasoning_step, llm_call, reasoning_step, llm_call$/m,
    /^learning channel_mix recorded; versions: 3 channel mix replaced.* \| 2 added idea "Secure from anywhere" \| 1 created from template/m,
  ],
  'task-assistant.ts': [
    /^assistant: Created the project Website relaunch with 3 lists and 4 tasks\.$/m,
    /^To do: 0\. Write the copy for the new pricing page \| 1\. Design the landing page \| 2\. Set up analytics and conversion goals\nDoing: 0\. Pick the hosting provider\nDone: \(empty\)$/m,
    /^assistant: Moved "Design the landing page" to the top of To do\.\nTo do: 0\. Design the landing page \| 1\. Write the copy for the new pricing page \| 2\. Set up analytics/m,
    /^search "pricing OR analytics": (?=.*Write the copy for the new pricing page)(?=.*Set up analytics and conversion goals)[^\n]*$/m,
    /^your board: tasks 4, projects 1, lists 3, completed 0$/m,
  ],
};
