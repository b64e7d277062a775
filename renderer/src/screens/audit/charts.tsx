/**
 * The data audit's three charts (issue 11 item 4): by kind of data, by folder, and over time. Counts only:
 * the scanner keeps no matched value.
 */
import { useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { AuditFileView, AuditView } from '@shared/contract.js';
import { printable } from '@shared/printable.js';
import { plural } from '../../format.js';
import { ChartCard, HorizontalBars } from './ChartCard.js';
import { baseName, detectorLabel, pointLabel } from './labels.js';

export function ByDetectorChart({ byDetector }: { byDetector: Record<string, number> }) {
  const data = Object.entries(byDetector)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, count]) => ({ name: detectorLabel(name), count }));
  const total = data.reduce((n, d) => n + d.count, 0);
  return (
    <ChartCard
      id="by-detector"
      title="What kind of customer data"
      summary={
        data.length === 0
          ? 'No customer data found.'
          : `${total.toLocaleString('en-US')} items found; most are ${(data[0]?.name ?? '').toLowerCase()}.`
      }
      columns={[
        { heading: 'Kind', cell: (d) => d.name },
        { heading: 'Found', cell: (d) => d.count.toLocaleString('en-US') },
      ]}
      rows={data}
      rowKey={(d) => d.name}
    >
      <HorizontalBars
        data={data}
        nameWidth={190}
        extraHeight={40}
        series={[{ dataKey: 'count', name: 'Found', className: 'bar-primary', fill: 'var(--chart-primary)' }]}
      />
    </ChartCard>
  );
}

export function ByFolderChart({ files }: { files: AuditFileView[] }) {
  const data = useMemo(() => {
    const by = new Map<string, { folder: string; name: string; open: number; safe: number }>();
    for (const f of files) {
      const row = by.get(f.folder) ?? { folder: f.folder, name: baseName(f.folder), open: 0, safe: 0 };
      if (f.protected) row.safe += 1;
      else row.open += 1;
      by.set(f.folder, row);
    }
    return [...by.values()].sort((a, b) => b.open + b.safe - (a.open + a.safe)).slice(0, 8);
  }, [files]);
  const open = data.reduce((n, d) => n + d.open, 0);
  return (
    <ChartCard
      id="by-folder"
      title="Where it is"
      summary={
        data.length === 0
          ? 'No folder holds customer data.'
          : open === 0
            ? 'Every file with customer data here is protected.'
            : `${plural(open, 'file')} in the clear in these folders.`
      }
      columns={[
        {
          heading: 'Folder',
          cell: (d) => printable(d.name),
          cellProps: (d) => ({ className: 'path', title: printable(d.folder) }),
        },
        { heading: 'In the clear', cell: (d) => d.open },
        { heading: 'Protected', cell: (d) => d.safe },
      ]}
      rows={data}
      rowKey={(d) => d.folder}
    >
      <HorizontalBars
        data={data}
        nameWidth={150}
        extraHeight={60}
        legend
        series={[
          {
            dataKey: 'open',
            name: 'In the clear',
            stackId: 'f',
            className: 'bar-warn',
            fill: 'var(--chart-warn)',
          },
          { dataKey: 'safe', name: 'Protected', stackId: 'f', className: 'bar-ok', fill: 'var(--chart-ok)' },
        ]}
      />
    </ChartCard>
  );
}

export function TrendChart({ history }: { history: AuditView['history'] }) {
  const span = history.length > 1 ? (history.at(-1)?.at ?? 0) - (history[0]?.at ?? 0) : 0;
  const data = history.map((h) => ({
    when: pointLabel(h.at, span),
    at: h.at,
    withData: h.filesWithData,
    open: h.unprotectedWithData,
    stale: h.staleFiles,
  }));
  const first = data[0];
  const last = data.at(-1);
  return (
    <ChartCard
      id="trend"
      title="Over time"
      summary={
        data.length < 2 || !first || !last
          ? 'One audit so far: the trend shows from the next one.'
          : `Files in the clear with customer data: ${first.open} on ${first.when}, ${last.open} now.`
      }
      columns={[
        { heading: 'Audit', cell: (d) => new Date(d.at).toLocaleString() },
        { heading: 'With customer data', cell: (d) => d.withData },
        { heading: 'In the clear', cell: (d) => d.open },
        { heading: 'Stale', cell: (d) => d.stale },
      ]}
      rows={data}
      rowKey={(d) => d.at}
    >
      <ResponsiveContainer width="100%" height={220}>
        <LineChart accessibilityLayer={false} data={data} margin={{ left: 0, right: 24, top: 8, bottom: 4 }}>
          <CartesianGrid vertical={false} />
          <XAxis dataKey="when" />
          <YAxis allowDecimals={false} width={40} />
          <Tooltip />
          <Legend />
          <Line
            dataKey="withData"
            name="With customer data"
            className="line-primary"
            stroke="var(--chart-primary)"
            isAnimationActive={false}
          />
          <Line
            dataKey="open"
            name="In the clear"
            className="line-warn"
            stroke="var(--chart-warn)"
            isAnimationActive={false}
          />
          <Line
            dataKey="stale"
            name="Stale"
            className="line-muted"
            stroke="var(--chart-muted)"
            strokeDasharray="5 4"
            isAnimationActive={false}
          />
        </LineChart>
      </ResponsiveContainer>
    </ChartCard>
  );
}
