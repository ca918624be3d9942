/**
 * Stands in for **Lambda's deletion of one published version** (DeleteFunction with a version as Qualifier),
 * which moto gets wrong: it numbers the next version "how many there are, plus one", so after a deletion it
 * hands out a number again (two versions "3", an alias on "3" resolving to the older one). AWS never reuses
 * a version number. So, in front of moto, the endpoint answers a version's deletion itself: the version stays
 * in the emulator (its numbering stays right) and is hidden from then on: ListVersionsByFunction leaves it
 * out, and a call naming it (a Qualifier, `name:3`, an alias put on it) gets ResourceNotFoundException, as
 * from AWS. A version an alias points at is refused (ResourceConflictException), as AWS refuses it.
 *
 * Where the real thing differs: the hidden versions are kept in memory, as moto keeps the functions; the
 * platform makes its tenants' functions again after a restart (bootstrap/tenants.ts), from version 1.
 */

/** A Lambda REST request that concerns versions: which function, and which version or alias it names. */
export interface VersionRequest {
  readonly name: string;
  /** The Qualifier (query or `name:qualifier`), or the FunctionVersion an alias is put on. */
  readonly version?: string;
  readonly kind: 'delete-version' | 'delete-function' | 'list-versions' | 'names-version';
}

const FUNCTION_PATH = /^\/2015-03-31\/functions\/([^/]+)(\/.*)?$/;
const ALIAS_WRITE = /^\/aliases(\/[^/]+)?$/;

/** The function's bare name and qualifier from a name, `name:qualifier`, or an ARN (URL-decoded). */
function functionRef(encoded: string): { name: string; qualifier?: string } {
  const ref = decodeURIComponent(encoded);
  const [name = '', qualifier] = ref.startsWith('arn:') ? ref.split(':').slice(6) : ref.split(':');
  return { name, ...(qualifier ? { qualifier } : {}) };
}

/** CreateAlias or UpdateAlias: the version they name is in the body, which the caller reads for them only. */
export function isAliasWrite(method: string, pathname: string): boolean {
  return aliasWriteFunction(method, pathname) !== undefined;
}

/** The function a CreateAlias or UpdateAlias is for, or undefined for any other request. */
export function aliasWriteFunction(method: string, pathname: string): string | undefined {
  const match = FUNCTION_PATH.exec(pathname);
  if (!match || (method !== 'POST' && method !== 'PUT') || !ALIAS_WRITE.test(match[2] ?? ''))
    return undefined;
  return functionRef(match[1] ?? '').name;
}

/**
 * What a Lambda request does to versions, or undefined when it names none. `aliasBody`: the body of an
 * alias's create or update (isAliasWrite).
 */
export function versionRequest(method: string, url: URL, aliasBody?: Buffer): VersionRequest | undefined {
  const match = FUNCTION_PATH.exec(url.pathname);
  if (!match) return undefined;
  const { name, qualifier: inName } = functionRef(match[1] ?? '');
  const rest = match[2] ?? '';
  const version = url.searchParams.get('Qualifier') ?? inName;
  if (method === 'DELETE' && rest === '')
    return version && version !== '$LATEST'
      ? { name, version, kind: 'delete-version' }
      : { name, kind: 'delete-function' };
  if (method === 'GET' && rest === '/versions') return { name, kind: 'list-versions' };
  if (aliasBody && isAliasWrite(method, url.pathname)) {
    try {
      const aliasVersion = (JSON.parse(aliasBody.toString('utf8')) as { FunctionVersion?: unknown })
        .FunctionVersion;
      if (typeof aliasVersion === 'string') return { name, version: aliasVersion, kind: 'names-version' };
    } catch {
      return undefined; // the emulator answers a body that is not JSON
    }
  }
  return version ? { name, version, kind: 'names-version' } : undefined;
}

/** The versions deleted through the endpoint, by function name. */
export class DeletedVersions {
  private readonly hidden = new Map<string, Set<string>>();

  isDeleted(name: string, version: string | undefined): boolean {
    return version !== undefined && (this.hidden.get(name)?.has(version) ?? false);
  }

  delete(name: string, version: string): void {
    const versions = this.hidden.get(name) ?? new Set<string>();
    versions.add(version);
    this.hidden.set(name, versions);
  }

  /** The function itself was deleted: a new one of that name has none of these. */
  forget(name: string): void {
    this.hidden.delete(name);
  }

  /** ListVersionsByFunction's JSON answer without the deleted versions. */
  listed(name: string, answer: Buffer): Buffer {
    const hidden = this.hidden.get(name);
    if (!hidden?.size) return answer;
    const page = JSON.parse(answer.toString('utf8')) as { Versions?: { Version?: string }[] };
    page.Versions = page.Versions?.filter((v) => !hidden.has(v.Version ?? ''));
    return Buffer.from(JSON.stringify(page));
  }
}
