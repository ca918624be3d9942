import { type Command, Option } from 'commander';
import { tenantIdSchema } from '../common/tenant-input';
import type { TargetOptions } from './target';

/** The local platform's state directory unless `--state-dir` names another. */
export const DEFAULT_STATE_DIR = '.tenantctl';

/** The options `targetOptions` adds. */
export interface CommonOptions extends TargetOptions {
  readonly json?: boolean;
}

/** How a command's action sets the exit code `main` resolves to (0 when it sets none). */
export interface CommandContext {
  setExitCode(code: number): void;
}

/** Prints a line on stdout. */
export const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
/** Prints a value on stdout as indented JSON. */
export const json = (value: unknown): void => out(JSON.stringify(value, null, 2));

/** `--state-dir <dir>`, by default `.tenantctl`. */
export const stateDirOption = (description = 'state directory of the local platform'): Option =>
  new Option('--state-dir <dir>', description).default(DEFAULT_STATE_DIR);

/** `--aws`: the deployed stack instead of the local platform. */
export const awsOption = (
  description = 'talk to the deployed stack on AWS (normal credential chain) instead of the local platform',
): Option => new Option('--aws', description);

/** `--stack <name>`, by default `TenantPlatform`. */
export const stackOption = (): Option =>
  new Option('--stack <name>', 'with --aws: the platform stack').default('TenantPlatform');

/** `--json`: JSON for scripts instead of lines for people. */
export const jsonOption = (): Option => new Option('--json', 'print JSON for scripts');

/** `--database-url <url>` of the registry commands. */
export const databaseUrlOption = (): Option =>
  new Option('--database-url <url>', "URL of the platform database (default: the local platform's)");

/** Adds the options of a command that talks to the local platform or, with `--aws`, the deployed stack. */
export function targetOptions(command: Command): Command {
  return command
    .addOption(stateDirOption())
    .addOption(awsOption())
    .option(
      '--state-machine-arn <arn>',
      'with --aws: the state machine (default: the TenantPlatform stack output)',
    )
    .addOption(stackOption())
    .addOption(jsonOption());
}

/** The options of a command that reads the registry: locally, at `--database-url`, or (`--aws`) the stack's. */
export interface RegistryReadOptions {
  readonly stateDir: string;
  readonly databaseUrl?: string;
  readonly json?: boolean;
  readonly aws?: boolean;
  readonly stack?: string;
}

/** Adds them; `what` says what `--aws` reads through the stack's control-plane API. */
export function registryReadOptions(command: Command, what: string): Command {
  return command
    .addOption(stateDirOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .addOption(awsOption(`the deployed stack's ${what}, through its control-plane API (your credentials)`))
    .addOption(stackOption());
}

/**
 * `value` when it is a valid tenant id; otherwise an error naming `field` and why (tenantctl exits 2 and
 * nothing starts). Every command that takes a tenant id checks it here, before anything else.
 */
export function checkedTenantId(field: string, value: string): string {
  const parsed = tenantIdSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${field}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return value;
}
