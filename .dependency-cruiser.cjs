/**
 * The project's layering, checked by `npm run lint` (dependency-cruiser). Each rule says which way imports
 * may point; a change that breaks one is refused in CI.
 *
 *   cli/ console/ bench/            clients: they start or call the platform
 *   local/                          the local platform (stands in for AWS); runs the tasks and the constructs
 *   infra/ workflow-tasks/ tenant-api/   what is deployed to AWS
 *   common/                         names, errors, schemas shared by all of them
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A circle ties its modules into one knot: none can be read, tested or changed alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'local-below-its-clients',
      comment: 'The CLI and the console are clients of the local platform; it never imports them.',
      severity: 'error',
      from: { path: '^local/' },
      to: { path: '^(cli|console|bench|test)/' },
    },
    {
      name: 'deployed-code-on-common-alone',
      comment:
        'Step handlers and the tenant API run in Lambda: they import common/ and their own folder, nothing of the platform around them.',
      severity: 'error',
      from: { path: '^(workflow-tasks|tenant-api)/' },
      to: { path: '^(local|cli|console|bench|test|infra)/' },
    },
    {
      name: 'infra-never-local',
      comment: 'The CDK app describes AWS; the local platform reads it, never the other way round.',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: '^(local|cli|console|bench|test)/' },
    },
    {
      name: 'common-is-a-leaf',
      comment: 'common/ is shared by everything, so it imports nothing of the project but itself.',
      severity: 'error',
      from: { path: '^common/' },
      to: { path: '^(local|cli|console|bench|test|infra|workflow-tasks|tenant-api)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out|\\.tenantctl)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
