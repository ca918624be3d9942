import { escapeIdentifier, type ClientBase } from 'pg';

/** Each table's row count (tables of schema public, by name). */
export async function countRows(
  client: ClientBase,
  tables: readonly string[],
): Promise<Record<string, number>> {
  const counted: Record<string, number> = {};
  for (const table of tables) {
    const result = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM public.${escapeIdentifier(table)}`,
    );
    counted[table] = Number(result.rows[0]?.n ?? 0);
  }
  return counted;
}

/** Whether any of the tables holds a row: a load that committed has run already. */
export async function anyRows(client: ClientBase, tables: readonly string[]): Promise<boolean> {
  const { rows } = await client.query<{ loaded: boolean }>(
    `SELECT ${tables.map((t) => `EXISTS (SELECT 1 FROM public.${escapeIdentifier(t)})`).join(' OR ') || 'false'} AS loaded`,
  );
  return rows[0]?.loaded === true;
}
