/**
 * The runs executing in this process, by execution id, so a cancel request
 * can abort a model call or tool call in flight at once. A run in another
 * process (another worker) sees the cancelled status at its next step.
 */
import { RunStop } from './run-types.js';

export class RunningRuns {
  private readonly controllers = new Map<string, AbortController>();

  add(executionId: string, controller: AbortController): void {
    this.controllers.set(executionId, controller);
  }

  delete(executionId: string): void {
    this.controllers.delete(executionId);
  }

  has(executionId: string): boolean {
    return this.controllers.has(executionId);
  }

  /** Aborts the run when it runs here; false when it does not. */
  cancel(executionId: string, message: string): boolean {
    const c = this.controllers.get(executionId);
    if (!c) return false;
    c.abort(new RunStop('cancelled', message));
    return true;
  }

  get size(): number {
    return this.controllers.size;
  }
}
