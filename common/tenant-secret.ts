/**
 * The value of a tenant's secret (`tenants/<id>/credentials`), written by "Store secret" and nowhere else
 * (the dedicated tier re-points host and port at its own instance). It is the only place any of these live.
 */
export interface TenantSecret {
  readonly engine: 'postgres';
  readonly host: string;
  readonly port: number;
  readonly dbname: string;
  readonly username: string;
  /** The tenant role's database password. */
  readonly password: string;
  /** The admin user seeded at onboarding, and its initial password (`tenantctl admin-credentials`). */
  readonly adminEmail: string;
  /** Absent for a restored or imported tenant: its users keep the passwords they had, and no admin is seeded. */
  readonly adminPassword?: string;
  /** The export a restored tenant was loaded from. */
  readonly restoredFrom?: string;
  /** An imported tenant: the dump it was loaded from, or `its database`. */
  readonly importedFrom?: string;
  /** HMAC-SHA256 key (base64url) signing the tenant API's bearer tokens. */
  readonly tokenKey: string;
}
