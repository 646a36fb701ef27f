import { validationFailed, type Issue } from '../errors.js';
import { MAX_STEPS, Step, type Definition, type Dependencies, type StepType } from './definition-schema.js';
import { MappingError, mappingPaths } from './mapping.js';

/**
 * Checks a definition's steps as a graph and returns them with the effective
 * dependencies. Every refusal names the offending step ("step \"b\": …") and
 * its place in the body (steps.<index>.<field>); all problems of one kind are
 * reported together.
 */
export function parseDefinition(raw: unknown): Definition {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_STEPS) {
    throw validationFailed(`steps must be an array of 1 to ${MAX_STEPS} steps`, [{ path: 'steps', message: `1 to ${MAX_STEPS} steps` }]);
  }
  const steps = parseShapes(raw);
  const index = new Map<string, number>();
  refuse(steps.flatMap((s, i) => {
    const first = index.get(s.key);
    if (first === undefined) {
      index.set(s.key, i);
      return [];
    }
    return [{ path: `steps.${i}.key`, message: `step "${s.key}": the key is already used by steps.${first}; keys must be unique` }];
  }));

  const typeOf = new Map(steps.map((s) => [s.key, s.type] as [string, StepType]));
  const deps: Dependencies = {};
  refuse(steps.flatMap((s, i) => {
    const problems: Issue[] = [];
    const own = s.dependsOn ?? [];
    own.forEach((d, j) => {
      if (!typeOf.has(d)) {
        problems.push({ path: `steps.${i}.dependsOn.${j}`, message: `step "${s.key}": dependsOn names "${d}", which is not a step of this workflow` });
      } else if (typeOf.get(d) === 'fan_out' && s.type !== 'fan_in') {
        problems.push({
          path: `steps.${i}.dependsOn.${j}`,
          message: `step "${s.key}": depends on fan_out step "${d}"; only a fan_in waits for a fan_out's items — depend on that fan_in instead`,
        });
      }
    });
    if (new Set(own).size !== own.length) problems.push({ path: `steps.${i}.dependsOn`, message: `step "${s.key}": dependsOn names a step twice` });
    if (s.type === 'fan_in') {
      if (!typeOf.has(s.from)) {
        problems.push({ path: `steps.${i}.from`, message: `step "${s.key}": from names "${s.from}", which is not a step of this workflow` });
      } else if (typeOf.get(s.from) !== 'fan_out') {
        problems.push({ path: `steps.${i}.from`, message: `step "${s.key}": from names "${s.from}", which is a ${typeOf.get(s.from)} step, not a fan_out` });
      }
    }
    deps[s.key] = [...new Set([...own, ...(s.type === 'fan_in' ? [s.from] : [])])];
    return problems;
  }));

  const order = topologicalOrder(steps.map((s) => s.key), deps, index);
  const ancestors = new Map<string, Set<string>>();
  for (const key of order) {
    const set = new Set<string>();
    for (const d of deps[key]!) {
      set.add(d);
      for (const a of ancestors.get(d)!) set.add(a);
    }
    ancestors.set(key, set);
  }
  refuse(steps.flatMap((s, i) => checkMappings(s, i, ancestors.get(s.key)!)));
  return { steps, dependencies: deps };
}

function refuse(issues: Issue[]): void {
  if (issues.length) throw validationFailed(issues[0]!.message, issues);
}

function parseShapes(raw: unknown[]): Step[] {
  const issues: Issue[] = [];
  const steps: Step[] = [];
  raw.forEach((x, i) => {
    const r = Step.safeParse(x);
    if (r.success) {
      steps.push(r.data);
      return;
    }
    const key = x !== null && typeof x === 'object' && typeof (x as { key?: unknown }).key === 'string' ? (x as { key: string }).key : null;
    const who = key ? `step "${key}"` : `steps.${i}`;
    for (const issue of r.error.issues) {
      const where = issue.path.join('.');
      issues.push({ path: ['steps', i, ...issue.path].join('.'), message: `${who}: ${where ? `${where}: ` : ''}${issue.message}` });
    }
  });
  refuse(issues);
  return steps;
}

/** Kahn's algorithm in definition order; on a cycle, names a step on it and the cycle itself. */
function topologicalOrder(keys: string[], deps: Dependencies, index: Map<string, number>): string[] {
  const indegree = new Map(keys.map((k) => [k, deps[k]!.length]));
  const dependents = new Map<string, string[]>(keys.map((k) => [k, []]));
  for (const k of keys) for (const d of deps[k]!) dependents.get(d)!.push(k);
  const ready = keys.filter((k) => indegree.get(k) === 0);
  const order: string[] = [];
  while (ready.length) {
    const k = ready.shift()!;
    order.push(k);
    for (const n of dependents.get(k)!) {
      indegree.set(n, indegree.get(n)! - 1);
      if (indegree.get(n) === 0) ready.push(n);
    }
  }
  if (order.length === keys.length) return order;
  // Every step left has an unresolved prerequisite that is also left: walk
  // prerequisites from one of them until a step repeats; that stretch is a cycle.
  const left = new Set(keys.filter((k) => !order.includes(k)));
  const path: string[] = [];
  let k = keys.find((x) => left.has(x))!;
  while (!path.includes(k)) {
    path.push(k);
    k = deps[k]!.find((d) => left.has(d))!;
  }
  // In running order (each step before the one that depends on it), from the step defined first.
  const ring = path.slice(path.indexOf(k)).reverse();
  const first = ring.reduce((best, x, i) => (index.get(x)! < index.get(ring[best]!)! ? i : best), 0);
  const cycle = [...ring.slice(first), ...ring.slice(0, first)];
  const shown = [...cycle, cycle[0]].join(' → ');
  const msg = `step "${cycle[0]}" is on a cycle: ${shown}; a workflow's steps must form a DAG`;
  throw validationFailed(msg, [{ path: `steps.${index.get(cycle[0]!)}.dependsOn`, message: msg }]);
}

function checkMappings(s: Step, i: number, ancestors: Set<string>): Issue[] {
  const problems: Issue[] = [];
  const check = (mapping: unknown, field: string, itemAllowed: boolean) => {
    let paths;
    try {
      paths = mappingPaths(mapping, field);
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      problems.push({ path: `steps.${i}.${err.at || field}`, message: `step "${s.key}": ${err.at || field}: ${err.message}` });
      return;
    }
    for (const { path, at } of paths) {
      if ((path.root === 'item' || path.root === 'index') && !itemAllowed) {
        problems.push({ path: `steps.${i}.${at}`, message: `step "${s.key}": ${at}: ${path.text} exists only in a fan_out's step template input` });
      } else if (path.root === 'steps' && !ancestors.has(path.step)) {
        problems.push({
          path: `steps.${i}.${at}`,
          message: `step "${s.key}": ${at}: ${path.text} refers to step "${path.step}", which is not an ancestor of "${s.key}"; add it to dependsOn (directly or through another step)`,
        });
      }
    }
  };
  if (s.type === 'agent' || s.type === 'tool') check(s.input, 'input', false);
  if (s.type === 'fan_out') {
    check(s.over, 'over', false);
    check(s.step.input, 'step.input', true);
  }
  return problems;
}
