import path from 'node:path';

/** pg lives in packages/db's node_modules (the root has none); the test reads tables with plain SQL. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require(path.join(__dirname, '../../../packages/db/node_modules/pg')) as {
  Client: new (options: { connectionString: string }) => {
    connect(): Promise<void>;
    query<R>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
    end(): Promise<void>;
  };
};

export interface DeliveryRow {
  attempt: number;
  http_status: number | null;
  error: string | null;
}

export interface SignalRow {
  id: string;
  status: string;
  reason: string | null;
  deliveries: DeliveryRow[];
}

/**
 * The audit trail as Postgres holds it: the signals rows and their deliveries rows. A fresh
 * connection per read, so a read never trips over a pooled connection Postgres cut in an outage.
 */
export async function readAudit(databaseUrl: string, ids: string[]): Promise<Map<string, SignalRow>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<SignalRow>(
      `SELECT s.id, s.status, s.reason,
              COALESCE(json_agg(json_build_object('attempt', d.attempt, 'http_status', d.http_status, 'error', d.error) ORDER BY d.attempt)
                       FILTER (WHERE d.id IS NOT NULL), '[]') AS deliveries
         FROM signals s LEFT JOIN deliveries d ON d.signal_id = s.id
        WHERE s.id = ANY($1::uuid[])
        GROUP BY s.id`,
      [ids],
    );
    return new Map(rows.map((row) => [row.id, row]));
  } finally {
    await client.end();
  }
}

/** True when every id has a row in the given status. */
export async function allInStatus(databaseUrl: string, ids: string[], status: string): Promise<boolean> {
  const rows = await readAudit(databaseUrl, ids);
  return ids.every((id) => rows.get(id)?.status === status);
}

/** How many rows each id has in `signals`, and how many `deliveries` rows each has (ids without rows are absent). */
export async function rowCounts(databaseUrl: string, ids: string[]): Promise<{ signals: Map<string, number>; deliveries: Map<string, number> }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const count = async (sql: string) => {
      const { rows } = await client.query<{ id: string; n: number }>(sql, [ids]);
      return new Map(rows.map((row) => [row.id, Number(row.n)]));
    };
    return {
      signals: await count('SELECT id, count(*) AS n FROM signals WHERE id = ANY($1::uuid[]) GROUP BY id'),
      deliveries: await count('SELECT signal_id AS id, count(*) AS n FROM deliveries WHERE signal_id = ANY($1::uuid[]) GROUP BY signal_id'),
    };
  } finally {
    await client.end();
  }
}

/** True when every id has a row in one of the given statuses. */
export async function allEnded(databaseUrl: string, ids: string[], statuses = ['forwarded', 'rejected', 'dead']): Promise<boolean> {
  const rows = await readAudit(databaseUrl, ids);
  return ids.every((id) => statuses.includes(rows.get(id)?.status ?? ''));
}
