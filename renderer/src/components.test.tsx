/**
 * Issue 9 item 7: names and paths from files are shown with controls and bidi overrides made visible. React
 * escapes HTML, not U+202E: `invoice<U+202E>fdp.exe` would read as `invoiceexe.pdf`.
 */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { FileErrors } from './components.js';

const HOSTILE = 'Cases/x\u001b[2Kinvoice\u202efdp.exe';

describe('FileErrors', () => {
  it('shows file paths and messages without raw controls or bidi overrides', () => {
    const html = renderToStaticMarkup(
      <FileErrors
        errors={[{ path: HOSTILE, code: 'IN_USE', message: `${HOSTILE}: in use`, hint: 'Close it.' }]}
      />,
    );
    expect(html).not.toContain('\u001b');
    expect(html).not.toContain('\u202e');
    expect(html).toContain('Cases/x\\u{1B}[2Kinvoice\\u{202E}fdp.exe');
  });
});
