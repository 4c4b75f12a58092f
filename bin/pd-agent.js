#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI directly through tsx's CommonJS loader: no build step between a change and `npx pd-agent`.
require('tsx/cjs');
require('../lib/cli/node-version-warning.ts').silenceSdkNodeVersionWarning();
const { runCli } = require('../lib/cli/main.ts');
runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
