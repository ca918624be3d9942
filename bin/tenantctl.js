#!/usr/bin/env node
'use strict';
// Entry of the `tenantctl` command. The task handlers log through Powertools to stdout, which would mix with
// the CLI's own output: quiet unless the user asks for a level.
process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL || 'SILENT';
// The SDK warns on every Node 20 start that future versions need Node 22; the lockfile pins this one.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
require('tsx/cjs');
require('../cli/tenantctl.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
