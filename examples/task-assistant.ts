// examples/task-assistant.ts — seed 004's task app with an assistant: an agent turns a request
// into a project with lists and tasks on the task board (the task_project_create tool), then
// reorders a task and searches the board when asked; the application reads the board and the
// user's dashboard summary over the API.
// Run: npx tsx examples/task-assistant.ts (the agent replays examples/scripts/task-assistant.json;
// AGENTBASE_EXAMPLE_LLM=service calls the server's model endpoint instead).
// Environment:
//   AGENTBASE_URL      the server (default http://127.0.0.1:4100)
//   AGENTBASE_API_KEY  a key with agents and executions write, tasks read and write (examples/quickstart.sh prints one)
import { api, ensureAgent, type Json } from './lib/http.js';

await ensureAgent('task-assistant', 'task-assistant', {
  tools: ['task_project_create', 'task_move', 'task_search'],
  systemPrompt: 'You keep the user\'s task board. Create projects with task_project_create, reorder with task_move, find with task_search.',
});

const first: Json = await api('POST', '/v1/agents/task-assistant/runs', {
  input: 'Plan our website relaunch: copy for the pricing page, the landing page design (due 1 March), analytics; hosting is being picked now.',
});
console.log(`assistant: ${first.output.content}`);

// What the agent made, read back by the application.
const projects: Json[] = (await api('GET', '/v1/projects?limit=100')).data;
const project = projects.find((p) => p.name === 'Website relaunch')!;
const lists: Json[] = (await api('GET', `/v1/lists?projectId=${project.id}`)).data;
const board = async () => {
  const out: string[] = [];
  for (const l of [...lists].sort((a, b) => a.listOrder - b.listOrder)) {
    const tasks: Json[] = (await api('GET', `/v1/tasks?listId=${l.id}`)).data;
    out.push(`${l.name}: ${tasks.map((t) => `${t.position}. ${t.title}`).join(' | ') || '(empty)'}`);
  }
  return out.join('\n');
};
console.log(await board());

// A second request: reorder, then find it again.
const second: Json = await api('POST', '/v1/agents/task-assistant/runs', { input: 'Put the landing page first, it blocks everything.' });
console.log(`assistant: ${second.output.content}`);
console.log(await board());

// The application's own search (websearch syntax) and the user's dashboard.
const found: Json = await api('GET', `/v1/tasks?q=${encodeURIComponent('pricing OR analytics')}&projectId=${project.id}`);
console.log(`search "pricing OR analytics": ${found.data.map((t: Json) => t.title).join(' | ')}`);
const summary: Json = await api('GET', '/v1/tasks/summary');
console.log(`your board: tasks ${summary.totalTasks}, projects ${summary.totalProjects}, lists ${summary.totalLists}, completed ${summary.completedTasks}`);
