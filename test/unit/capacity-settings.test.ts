import { cellAccountChanges, cellAccountOf } from '../../common/cells';
import { capacitySettings, parseCapacitySettings, placesPerSharedInstance } from '../../common/capacity';
import { localCellAccounts } from '../../local/account';

describe('capacity settings (tenantctl up --quotas, the CDK context "quotas")', () => {
  it('by default the connection budget fits the tenant limit: 200 tenants of 5 connections in 1,000', () => {
    const settings = capacitySettings({}, 'defaults');
    expect(settings).toMatchObject({
      tenantsPerSharedInstance: 200,
      connectionsPerSharedInstance: 1000,
      connectionsPerTenant: 5,
      sharedInstanceHeadroom: 20,
    });
    expect(placesPerSharedInstance(settings)).toEqual({ places: 200, quota: 'tenantsPerSharedInstance' });
  });

  it('a shared instance takes fewer tenants when its connection budget runs out first, and says which', () => {
    const settings = capacitySettings(
      { tenantsPerSharedInstance: 50, connectionsPerSharedInstance: 100, connectionsPerTenant: 8 },
      'q',
    );
    expect(placesPerSharedInstance(settings)).toEqual({ places: 12, quota: 'connectionsPerSharedInstance' });
    // The default headroom is a tenth of the places the instance really has, not of its tenant limit.
    expect(settings.sharedInstanceHeadroom).toBe(2);
    // One place per instance: no headroom can be kept, and none is asked for.
    expect(capacitySettings({ tenantsPerSharedInstance: 1 }, 'q').sharedInstanceHeadroom).toBe(0);
  });

  it('refuses, naming the field, what would leave a shared instance no room', () => {
    const refusals: [unknown, string][] = [
      [
        { connectionsPerSharedInstance: 4, connectionsPerTenant: 5 },
        'q: connectionsPerTenant (5) must be at most connectionsPerSharedInstance (4)',
      ],
      [
        { connectionsPerSharedInstance: 10, connectionsPerTenant: 5, sharedInstanceHeadroom: 2 },
        'q: sharedInstanceHeadroom (2) must be below the 2 tenants a shared instance takes (connectionsPerSharedInstance 10 / connectionsPerTenant 5)',
      ],
      [
        { tenantsPerSharedInstance: 3, sharedInstanceHeadroom: 3 },
        'q: sharedInstanceHeadroom (3) must be below tenantsPerSharedInstance (3)',
      ],
      [{ connectionsPerTenant: 0 }, 'q: connectionsPerTenant must be an integer of at least 1, got 0'],
      [{ connectionsPerTenant: 2.5 }, 'q: connectionsPerTenant must be an integer of at least 1, got 2.5'],
    ];
    for (const [given, message] of refusals) expect(() => capacitySettings(given, 'q')).toThrow(message);
    expect(() => parseCapacitySettings('{"connectionsPerTenant": "5"}', 'q.json')).toThrow(
      'q.json: connectionsPerTenant must be an integer of at least 1, got "5"',
    );
  });

  it('takes the cells that are AWS accounts of their own, and refuses any other account map naming the field', () => {
    const settings = capacitySettings({ cells: 3, cellAccounts: { 'cell-2': '210987654321' } }, 'q');
    expect(settings.cellAccounts).toEqual({ 'cell-2': '210987654321' });
    expect(cellAccountOf(settings, 'cell-2')).toBe('210987654321');
    expect(cellAccountOf(settings, 'cell-1')).toBeUndefined();
    expect(capacitySettings({}, 'q').cellAccounts).toEqual({});
    const refusals: [unknown, string][] = [
      [['210987654321'], 'q: cellAccounts must be an object of cell ids to AWS account ids'],
      [{ 'cell-3': '210987654321' }, 'q: cellAccounts.cell-3 is not a cell (the cells are cell-1, cell-2'],
      [
        { 'cell-2': 210987654321 },
        'q: cellAccounts.cell-2 must be a 12-digit AWS account id, got 210987654321',
      ],
      [
        { 'cell-2': '2109876543' },
        'q: cellAccounts.cell-2 must be a 12-digit AWS account id, got "2109876543"',
      ],
      [
        { 'cell-1': '210987654321', 'cell-2': '210987654321' },
        "q: cellAccounts.cell-2 is cell-1's account too (210987654321)",
      ],
    ];
    for (const [cellAccounts, message] of refusals)
      expect(() => capacitySettings({ cells: 2, cellAccounts }, 'q')).toThrow(message);
  });

  it('locally puts each cell but the first in an account of its own unless the settings name the accounts', () => {
    const local = (given: unknown) => capacitySettings(given, 'q', localCellAccounts).cellAccounts;
    expect(local({ cells: 3 })).toEqual({ 'cell-2': '000000000002', 'cell-3': '000000000003' });
    expect(local({})).toEqual({});
    // Named, or `{}`: exactly as given.
    expect(local({ cells: 3, cellAccounts: {} })).toEqual({});
    expect(local({ cells: 3, cellAccounts: { 'cell-3': '210987654321' } })).toEqual({
      'cell-3': '210987654321',
    });
    // On AWS (no default), and in settings kept before the default: none.
    expect(capacitySettings({ cells: 3 }, 'q').cellAccounts).toEqual({});
    expect(parseCapacitySettings('{"cells": 3}', 'q').cellAccounts).toEqual({});
    expect(parseCapacitySettings('{"cells": 2}', 'q', localCellAccounts).cellAccounts).toEqual({
      'cell-2': '000000000002',
    });
  });

  it('names each cell whose tenants or instances were made in another account than the settings now give it', () => {
    const settings = capacitySettings({ cells: 4, cellAccounts: { 'cell-1': '111122223333' } }, 'q');
    const inUse = [
      { cell: 'cell-1', account: undefined, holders: ['a-shop'], count: 1 },
      { cell: 'cell-2', account: undefined, holders: ['b-shop', 'c-shop', 'shared-1'], count: 5 },
      { cell: 'cell-3', account: '210987654321', holders: ['d-shop'], count: 1 },
      // Split before such settings were refused: refused only when the setting names neither account.
      { cell: 'cell-4', account: undefined, holders: ['e-shop'], count: 1 },
      { cell: 'cell-4', account: '444455556666', holders: ['f-shop', 'g-shop'], count: 2 },
    ];
    expect(cellAccountChanges(settings, inUse)).toEqual([
      "cellAccounts.cell-1: cell-1 is in AWS account 111122223333 here, but a-shop was made in the platform's " +
        'account, and a setting does not move them: keep cell-1 there (a "cellAccounts" without cell-1)',
      "cellAccounts.cell-3: cell-3 is in the platform's account here, but d-shop was made in AWS account " +
        '210987654321, and a setting does not move them: keep cell-3 there ("cell-3": "210987654321")',
    ]);
    const moved = capacitySettings(
      { cells: 4, cellAccounts: { 'cell-2': '777788889999', 'cell-4': '444455556666' } },
      'q',
    );
    expect(cellAccountChanges(moved, inUse.slice(1, 2))).toEqual([
      'cellAccounts.cell-2: cell-2 is in AWS account 777788889999 here, but b-shop, c-shop, shared-1 and 2 more ' +
        'were made in the platform\'s account, and a setting does not move them: keep cell-2 there (a "cellAccounts" without cell-2)',
    ]);
    expect(cellAccountChanges(moved, inUse.slice(3))).toEqual([]);
    const neither = capacitySettings({ cells: 4, cellAccounts: { 'cell-4': '999988887777' } }, 'q');
    expect(cellAccountChanges(neither, inUse.slice(3))).toEqual([
      'cellAccounts.cell-4: cell-4 is in AWS account 999988887777 here, but e-shop was made in the ' +
        "platform's account; f-shop, g-shop were made in AWS account 444455556666, and a setting does not move " +
        'them: keep cell-4 there (a "cellAccounts" without cell-4 or "cell-4": "444455556666")',
    ]);
  });
});
