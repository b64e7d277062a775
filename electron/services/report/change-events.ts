/**
 * Hears every security event as it is recorded, so that a change reaches reportDir (docs/REPORT.md §7)
 * whatever recorded it: protect, unprotect, rotation, restore, policy change… The report's own events are
 * not changes (else each report would ask for the next).
 */
import type { EventDetails, SecurityEventType, SecurityEvents } from '../audit-log/security-events.js';

const REPORT_EVENTS: ReadonlySet<SecurityEventType> = new Set(['report-written', 'report-failed']);

export class ChangeNotingEvents implements SecurityEvents {
  constructor(
    private readonly inner: SecurityEvents,
    private readonly onChange: (type: SecurityEventType) => void,
  ) {}

  async record(type: SecurityEventType, details: EventDetails): Promise<void> {
    await this.inner.record(type, details);
    if (!REPORT_EVENTS.has(type)) this.onChange(type);
  }
}
