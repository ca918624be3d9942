/**
 * Forward tasks still running, per execution. When a branch of a Parallel state fails, the interpreter stops
 * the other branch, but a task of it already running goes on, as a Lambda does on AWS (Step Functions
 * cannot stop it). On AWS the rollback first waits out the longest step ("Wait for interrupted steps", whose
 * wait is 0 here); here an undo first waits for its execution's forward tasks themselves, each for at most
 * its state's timeout, as a Lambda runs for at most its own. Either way no step lands its effect after its
 * undo ran.
 */
export class TasksInFlight {
  private readonly byExecution = new Map<string, Set<Promise<void>>>();

  /** Tracks a forward task until it settles or its timeout passes. */
  track(executionArn: string, task: Promise<unknown>, timeoutSeconds: number | undefined): void {
    let timer: NodeJS.Timeout | undefined;
    const ended = Promise.race([
      task.then(
        () => undefined,
        () => undefined,
      ),
      new Promise<void>((resolve) => {
        if (timeoutSeconds !== undefined) timer = setTimeout(resolve, timeoutSeconds * 1000).unref();
      }),
    ]).finally(() => {
      clearTimeout(timer);
      const tasks = this.byExecution.get(executionArn);
      tasks?.delete(ended);
      if (tasks?.size === 0) this.byExecution.delete(executionArn);
    });
    const tasks = this.byExecution.get(executionArn) ?? new Set();
    tasks.add(ended);
    this.byExecution.set(executionArn, tasks);
  }

  /** Resolves once none of the execution's forward tasks can still land an effect. */
  async ended(executionArn: string): Promise<void> {
    for (
      let tasks = this.byExecution.get(executionArn);
      tasks?.size;
      tasks = this.byExecution.get(executionArn)
    )
      await Promise.all(tasks);
  }
}
