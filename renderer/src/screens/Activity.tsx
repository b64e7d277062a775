import { call } from '../api.js';
import { ErrorNotice, Notice, PageHeader } from '../components.js';
import { useLoad } from '../hooks.js';

export function Activity() {
  const { data, error } = useLoad(() => call('listActivity', {}), ['activity']);
  return (
    <>
      <PageHeader title="Activity" lead="Recent operations on this laptop and how they ended." />
      <ErrorNotice error={error} />
      {data?.length === 0 ? <Notice tone="info" title="Nothing yet" /> : null}
      {data && data.length > 0 ? (
        <table className="table" aria-label="Recent activity">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">On</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {data.map((a) => (
              <tr key={a.id}>
                <td>
                  <time dateTime={new Date(a.at).toISOString()}>{new Date(a.at).toLocaleString()}</time>
                </td>
                <td>{a.action}</td>
                <td className="path">{a.target}</td>
                <td>
                  <span
                    className={`pill ${a.outcome === 'ok' ? 'pill-ok' : a.outcome === 'error' ? 'pill-error' : 'pill-warn'}`}
                  >
                    {a.outcome === 'ok' ? 'Done' : a.outcome === 'error' ? 'Failed' : 'Cancelled'}
                  </span>
                  {a.detail ? <div className="muted">{a.detail}</div> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
