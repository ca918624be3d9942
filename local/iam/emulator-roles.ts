/**
 * What the IAM check reads from the emulator's IAM (the roles the tasks make at run time): a role's
 * permissions boundary (PutRolePolicy is conditioned on it), and a tenant function's role with its inline
 * policies and boundary, as they are now.
 */
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { LocalPlatformNames } from '../../common/names';
import { isNotFound } from '../../workflow-tasks/lib/aws';
import { inEmulatorAccount } from '../emulator/emulator';
import type { Lookups } from './operations';
import type { PolicyDocument } from './roles';

/** The lookups in `account` (a cell's, or the platform's): the emulator keeps each account's roles apart. */
export function emulatorLookups(emulatorEndpoint: string, account: string): Lookups {
  const client = new IAMClient({ endpoint: emulatorEndpoint, region: LocalPlatformNames.region });
  client.middlewareStack.add(inEmulatorAccount(account), { step: 'build', name: 'emulatorAccount' });
  // IAM answers policy documents URL-encoded (moto as AWS does).
  const documentOf = (text: string | undefined) =>
    JSON.parse(decodeURIComponent(text ?? '{}')) as PolicyDocument;
  const roleNamed = async (RoleName: string): Promise<Role | undefined> => {
    try {
      return (await client.send(new GetRoleCommand({ RoleName }))).Role;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  return {
    // No such role (or no answer): PutRolePolicy fails on its own.
    roleBoundary: async (roleName) =>
      (await roleNamed(roleName).catch(() => undefined))?.PermissionsBoundary?.PermissionsBoundaryArn,
    runtimeRole: async (RoleName) => {
      const role = await roleNamed(RoleName);
      if (!role) return undefined;
      const { PolicyNames = [] } = await client.send(new ListRolePoliciesCommand({ RoleName }));
      const policies = await Promise.all(
        PolicyNames.map(async (PolicyName) => ({
          name: PolicyName,
          document: documentOf(
            (await client.send(new GetRolePolicyCommand({ RoleName, PolicyName }))).PolicyDocument,
          ),
        })),
      );
      const boundaryArn = role.PermissionsBoundary?.PermissionsBoundaryArn;
      if (!boundaryArn) return { name: RoleName, policies };
      const { Policy } = await client.send(new GetPolicyCommand({ PolicyArn: boundaryArn }));
      const { PolicyVersion } = await client.send(
        new GetPolicyVersionCommand({ PolicyArn: boundaryArn, VersionId: Policy?.DefaultVersionId }),
      );
      return { name: RoleName, policies, boundary: documentOf(PolicyVersion?.Document) };
    },
  };
}
