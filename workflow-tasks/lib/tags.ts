import { PlatformNames } from '../../common/names';

/** Tags every tenant resource carries; undo steps delete only what carries this tenant's tag. */
export function tenantTags(tenantId: string): Record<string, string> {
  return { [PlatformNames.tenantTag]: tenantId, [PlatformNames.managedByTag]: 'tenant-onboarding' };
}

export function tagList(tenantId: string): { Key: string; Value: string }[] {
  return Object.entries(tenantTags(tenantId)).map(([Key, Value]) => ({ Key, Value }));
}

/** True when a resource's tags say it belongs to this tenant. */
export function ownedBy(tags: Record<string, string | undefined> | undefined, tenantId: string): boolean {
  return tags?.[PlatformNames.tenantTag] === tenantId;
}

export function tagsFromList(list: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const entries: [string, string][] = [];
  for (const tag of list ?? []) if (tag.Key !== undefined) entries.push([tag.Key, tag.Value ?? '']);
  return Object.fromEntries(entries);
}
