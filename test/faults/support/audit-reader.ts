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
