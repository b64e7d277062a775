/**
 * A chart and the same numbers as a table: the chart is for the eye, the table for reading out (screen
 * readers, exact values). Every chart on the data audit screen is one of these.
 */
import type { ReactNode } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

/** One column of a chart's table: its heading and what each row shows in it. */
export interface Column<Row> {
  heading: string;
  cell: (row: Row) => ReactNode;
  /** Attributes of the cell, e.g. a path's full text as its title. */
  cellProps?: (row: Row) => { className?: string; title?: string };
}

export function ChartCard<Row>({
  id,
  title,
  summary,
  columns,
  rows,
  rowKey,
  children,
}: {
  id: string;
  title: string;
  summary: string;
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  rowKey: (row: Row) => string | number;
  /** The chart, hidden from screen readers: the table says the same. */
  children: ReactNode;
}) {
  return (
    <figure className="card audit-chart" aria-labelledby={`${id}-title`} data-chart={id}>
      <figcaption>
        <h2 id={`${id}-title`}>{title}</h2>
        <p className="muted">{summary}</p>
      </figcaption>
      <div className="audit-chart-body" aria-hidden="true">
        {children}
      </div>
      <details>
        <summary>Show as a table</summary>
        <table className="table compact">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.heading} scope="col">
                  {c.heading}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={rowKey(row)}>
                {columns.map((c) => (
                  <td key={c.heading} {...c.cellProps?.(row)}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** One series of a horizontal bar chart (stacked when they share a stackId). */
export interface BarSeries {
  dataKey: string;
  name: string;
  className: string;
  fill: string;
  stackId?: string;
}

/** Horizontal bars, one a category: the "what kind" and "where" charts. */
export function HorizontalBars({
  data,
  nameWidth,
  extraHeight,
  series,
  legend = false,
}: {
  data: readonly object[];
  /** Room for the category names on the left, in px. */
  nameWidth: number;
  /** Height beyond the bars themselves (axis, and the legend where there is one), in px. */
  extraHeight: number;
  series: readonly BarSeries[];
  legend?: boolean;
}) {
  return (
    <ResponsiveContainer width="100%" height={Math.max(120, data.length * 38 + extraHeight)}>
      <BarChart
        accessibilityLayer={false}
        data={data}
        layout="vertical"
        margin={{ left: 8, right: 24, top: 4, bottom: 4 }}
      >
        <CartesianGrid horizontal={false} />
        <XAxis type="number" allowDecimals={false} />
        <YAxis type="category" dataKey="name" width={nameWidth} />
        <Tooltip cursor={false} />
        {legend ? <Legend /> : null}
        {series.map((s) => (
          <Bar key={s.dataKey} {...s} isAnimationActive={false} />
        ))}
      </BarChart>
    </ResponsiveContainer>
  );
}
