import { colourFor, duration, statusTone, table, type Column } from '../../cli/table';
import { relativeTime } from '../../common/relative-time';

interface Row {
  id: string;
  status: string;
}

const COLUMNS: Column<Row>[] = [
  { header: 'TENANT', cell: (r) => r.id },
  { header: 'STATUS', cell: (r) => r.status, tone: (r) => statusTone(r.status) },
  { header: 'NOTE', cell: () => 'x' },
];

describe('the CLI listings', () => {
  it('print a header row and align every column under it, the last one unpadded', () => {
    const lines = table(
      [
        { id: 'a-very-long-tenant-id', status: 'ACTIVE' },
        { id: 'shop', status: 'ROLLBACK_FAILED' },
      ],
      COLUMNS,
    );
    expect(lines).toEqual([
      'TENANT                 STATUS           NOTE',
      'a-very-long-tenant-id  ACTIVE           x',
      'shop                   ROLLBACK_FAILED  x',
    ]);
  });

  it('print only the header for no rows', () => {
    expect(table([], COLUMNS)).toEqual(['TENANT  STATUS  NOTE']);
  });

  it('keep every row on one line: control characters in a cell become spaces', () => {
    const [, row] = table([{ id: 'evil\nname\u001b[31m', status: 'ACTIVE' }], COLUMNS);
    expect(row).toBe('evil name [31m  ACTIVE  x');
  });

  it('colour by status only when asked, and pad by the text, not the escape codes', () => {
    const [header, row] = table([{ id: 'shop', status: 'FAILED' }], COLUMNS, true);
    expect(row).toBe('shop    \u001b[31mFAILED\u001b[0m  x');
    expect(header).toBe('\u001b[2mTENANT\u001b[0m  \u001b[2mSTATUS\u001b[0m  \u001b[2mNOTE\u001b[0m');
  });

  it('colour only on a terminal, and never with NO_COLOR set', () => {
    expect(colourFor({ isTTY: true }, {})).toBe(true);
    expect(colourFor({ isTTY: false }, {})).toBe(false);
    expect(colourFor({}, {})).toBe(false);
    expect(colourFor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    // https://no-color.org: an empty NO_COLOR does not turn colour off.
    expect(colourFor({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
  });

  it('show times relative to now', () => {
    const now = new Date('2026-12-06T12:00:00Z');
    const ago = (seconds: number) => relativeTime(new Date(now.getTime() - seconds * 1000), now);
    expect([ago(2), ago(42), ago(5 * 60 + 59), ago(3 * 3600), ago(47 * 3600), ago(3 * 86_400)]).toEqual([
      'just now',
      '42 s ago',
      '5 min ago',
      '3 h ago',
      '47 h ago',
      '3 d ago',
    ]);
    expect(relativeTime('2026-12-06T11:59:00.000Z', now)).toBe('1 min ago');
    expect(relativeTime(new Date(now.getTime() + 60_000), now)).toBe('in the future');
    expect([relativeTime(null, now), relativeTime(undefined, now), relativeTime('not a date', now)]).toEqual([
      '-',
      '-',
      '-',
    ]);
  });

  it('show durations as a person reads them', () => {
    expect([duration(850), duration(12_345), duration(245_000)]).toEqual(['850 ms', '12.3 s', '4 min 5 s']);
    // Rounded before it is cut into minutes and seconds: never "60.0 s" or "1 min 60 s".
    expect([duration(59_960), duration(119_600)]).toEqual(['1 min 0 s', '2 min 0 s']);
  });
});
