/**
 * The folder worker pool, with every protect run settled against the recovery key set once its files are in
 * place (RotationService.settle): a run takes its recipients when it starts, so without this a file written
 * after a concurrent `untrust` and its rotation would carry the retired key (issue 9 item 2). The app and
 * `coffer protect`/`coffer watch` build their FolderService over it.
 */
import type { FileIssue, FileOutcome } from '../folders/types.js';
import { WorkerPool, type PoolOptions, type PoolRun, type PoolStream } from '../folders/pool.js';
import type { RotationService } from './rotation.js';

export class SettlingWorkerPool extends WorkerPool {
  constructor(
    options: PoolOptions,
    private readonly rotation: Pick<RotationService, 'settle'>,
    /** What could not be brought to the current set (also left pending for the next rotation). */
    private readonly onUnsettled: (issues: readonly FileIssue[]) => void = () => undefined,
  ) {
    super(options);
  }

  override async run(request: PoolRun): Promise<FileOutcome[]> {
    const outcomes = await super.run(request);
    if (request.op !== 'protect') return outcomes;
    const written = outcomes.flatMap((o) => (o.kind === 'done' ? [o.target] : []));
    const issues = await this.rotation.settle(written, request.recipients);
    if (issues.length > 0) this.onUnsettled(issues);
    return outcomes;
  }

  /**
   * A streamed folder run keeps no list of what it wrote (its memory is bounded by the batch): it is
   * settled by its folders (`roots`), whose files the rotation walks only when the key set changed.
   */
  override async stream(request: PoolStream): Promise<void> {
    const wrote = { any: false };
    await super.stream({
      ...request,
      onOutcome: (outcome) => {
        if (outcome.kind === 'done') wrote.any = true;
        request.onOutcome?.(outcome);
      },
    });
    if (request.op !== 'protect' || !wrote.any) return;
    const issues = await this.rotation.settle(request.roots ?? [], request.recipients);
    if (issues.length > 0) this.onUnsettled(issues);
  }
}
