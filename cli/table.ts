/**
 * How the CLI's listings print for people: a header row, columns aligned to their widest cell, times
 * relative to now (common/relative-time.ts), and colour only on a terminal that wants it (`NO_COLOR` set to anything turns it off,
 * as https://no-color.org asks). `--json` bypasses all of this: it is the contract for scripts.
 */

/** A column: its header and how a row shows in it; `tone` colours the cell (on a terminal). */
export interface Column<T> {
  readonly header: string;
  readonly cell: (row: T) => string;
  readonly tone?: (row: T) => Tone | undefined;
}

export type Tone = 'good' | 'bad' | 'busy' | 'quiet';

const SGR: Record<Tone, string> = { good: '32', bad: '31', busy: '33', quiet: '2' };

/** Whether output on `stream` may be coloured: a terminal, and NO_COLOR unset or empty. */
export function colourFor(stream: { isTTY?: boolean } = process.stdout, env = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

/**
 * The lines of a table: the header, then one line per row, each cell padded to its column's widest (the last
 * column is not padded, so no line ends in spaces). Widths count characters, not colour codes.
 */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[], colour = false): string[] {
  const cells = rows.map((row) => columns.map((c) => oneLine(c.cell(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (texts: string[], tones: (Tone | undefined)[]) =>
    texts
      .map((text, i) => {
        const padded = i === texts.length - 1 ? text : text.padEnd(widths[i]!);
        const tone = tones[i];
        return colour && tone ? `\u001b[${SGR[tone]}m${padded}\u001b[0m` : padded;
      })
      .join('  ')
      .trimEnd();
  return [
    line(
      columns.map((c) => c.header),
      columns.map(() => (colour ? 'quiet' : undefined)),
    ),
    ...rows.map((row, r) =>
      line(
        cells[r]!,
        columns.map((c) => c.tone?.(row)),
      ),
    ),
  ];
}

/** A cell is one line: control characters (a hostile tenant name's newline, an escape) become spaces. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** How long something took or has run: `850 ms`, `12.3 s`, `4 min 5 s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** The tone of a status word (execution, tenant or release). */
export function statusTone(status: string | undefined): Tone | undefined {
  switch (status) {
    case 'SUCCEEDED':
    case 'ACTIVE':
    case 'AVAILABLE':
    case 'updated':
      return 'good';
    case 'FAILED':
    case 'TIMED_OUT':
    case 'ROLLBACK_FAILED':
    case 'OFFBOARDING_FAILED':
    case 'failed':
      return 'bad';
    case 'RUNNING':
    case 'PROVISIONING':
    case 'CREATING':
    case 'OFFBOARDING':
    case 'MOVING':
    case 'SUSPENDED':
    case 'STOPPED':
      return 'busy';
    case 'ABORTED':
    case 'ROLLED_BACK':
    case 'OFFBOARDED':
      return 'quiet';
    default:
      return undefined;
  }
}
