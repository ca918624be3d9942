// Runs one Lambda deployment package inside a worker thread, with the function's own environment
// (worker threads get their own process.env). Messages in: { id, event }; out: { id, result } or { id, error }.
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');
const vm = require('node:vm');
const { parentPort, threadId, workerData } = require('node:worker_threads');

const { modulePath } = workerData;
/** Whether the package's code cache exists (or this worker wrote it). */
let cacheWritten = false;
const script = compile(modulePath);
const handler = run(script, modulePath)[workerData.handlerName];

parentPort.on('message', async ({ id, event }) => {
  try {
    const result = await handler(event, {
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      awsRequestId: id,
    });
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: { name: error && error.name, message: error && error.message } });
  }
  writeCodeCache();
});

/**
 * The package's module compiled as `require` would, with the V8 code cache the first worker of this package
 * left next to it: every tenant's function on one version runs the same package, and compiling it again for
 * each of them is much of a cold start's CPU.
 */
function compile(path) {
  let cachedData;
  try {
    cachedData = readFileSync(`${path}.cache`);
  } catch {
    // no cache yet: this worker writes it after its first request
  }
  const compiled = new vm.Script(Module.wrap(readFileSync(path, 'utf8')), { filename: path, cachedData });
  cacheWritten = Boolean(cachedData) && !compiled.cachedDataRejected;
  return compiled;
}

/** Runs the compiled module as a CommonJS module at `path`; returns its exports. */
function run(compiled, path) {
  const module = new Module(path, null);
  module.filename = path;
  module.paths = Module._nodeModulePaths(dirname(path));
  compiled.runInThisContext()(module.exports, Module.createRequire(path), module, path, dirname(path));
  return module.exports;
}

/** After the first request (the functions it ran are compiled by then), once, atomically. */
function writeCodeCache() {
  if (cacheWritten) return;
  cacheWritten = true;
  try {
    const temporary = `${modulePath}.cache.${process.pid}.${threadId}`;
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, `${modulePath}.cache`);
  } catch {
    // a cache is an optimisation: without it the next worker compiles the package itself
  }
}
