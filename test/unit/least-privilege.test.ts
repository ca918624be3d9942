import { leastPrivilege } from '../../local/iam/least-privilege';
import type { LocalRole } from '../../local/iam/roles';

const role: LocalRole = {
  name: 'CreateDatabaseRole',
  policies: [
    {
      name: 'Default',
      document: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['rds:CreateDBInstance', 'rds:AddTagsToResource'],
            Resource: 'arn:aws:rds:us-east-1:123456789012:db:tenant-*',
          },
          {
            Effect: 'Allow',
            Action: 's3:GetObject*',
            Resource: ['arn:aws:s3:::artifacts/*', 'arn:aws:s3:::artifacts'],
            Condition: { StringEquals: { 'aws:ResourceTag/x': 'y' } },
          },
          { Effect: 'Deny', Action: '*', Resource: '*' },
        ],
      },
    },
  ],
};

describe('leastPrivilege', () => {
  it('puts each grant beside the calls it matched, and lists the ones no call matched', () => {
    const usage = new Map([
      [
        'CreateDatabaseRole',
        new Map([
          ['rds:CreateDBInstance arn:aws:rds:us-east-1:123456789012:db:tenant-a', 2],
          ['rds:CreateDBInstance arn:aws:rds:us-east-1:123456789012:db:tenant-b', 1],
          ['s3:GetObjectVersion arn:aws:s3:::artifacts/v1.zip', 4],
        ]),
      ],
      ['AnotherRole', new Map([['rds:AddTagsToResource arn:aws:rds:us-east-1:123456789012:db:tenant-a', 1]])],
    ]);
    const [report] = leastPrivilege([role], usage);
    expect(report).toEqual({
      role: 'CreateDatabaseRole',
      used: [
        {
          action: 'rds:CreateDBInstance',
          resource: 'arn:aws:rds:us-east-1:123456789012:db:tenant-*',
          conditional: false,
          calls: 3,
          usedAs: ['rds:CreateDBInstance'],
          examples: [
            'arn:aws:rds:us-east-1:123456789012:db:tenant-a',
            'arn:aws:rds:us-east-1:123456789012:db:tenant-b',
          ],
        },
        {
          action: 's3:GetObject*',
          resource: 'arn:aws:s3:::artifacts/*',
          conditional: true,
          calls: 4,
          usedAs: ['s3:GetObjectVersion'],
          examples: ['arn:aws:s3:::artifacts/v1.zip'],
        },
      ],
      unused: [
        {
          action: 'rds:AddTagsToResource',
          resource: 'arn:aws:rds:us-east-1:123456789012:db:tenant-*',
          conditional: false,
          calls: 0,
          usedAs: [],
          examples: [],
        },
        {
          action: 's3:GetObject*',
          resource: 'arn:aws:s3:::artifacts',
          conditional: true,
          calls: 0,
          usedAs: [],
          examples: [],
        },
      ],
    });
  });

  it('matches actions case-insensitively and resources exactly, `?` as one character', () => {
    const wildcard: LocalRole = {
      name: 'R',
      policies: [
        {
          name: 'P',
          document: {
            Statement: [{ Effect: 'Allow', Action: 'S3:getobject', Resource: 'arn:aws:s3:::b/k?' }],
          },
        },
      ],
    };
    const usage = (resource: string) => new Map([['R', new Map([[`s3:GetObject ${resource}`, 1]])]]);
    expect(leastPrivilege([wildcard], usage('arn:aws:s3:::b/k1'))[0]?.used).toHaveLength(1);
    expect(leastPrivilege([wildcard], usage('arn:aws:s3:::b/k12'))[0]?.used).toHaveLength(0);
    expect(leastPrivilege([wildcard], usage('arn:aws:s3:::B/k1'))[0]?.used).toHaveLength(0);
  });
});
