// Runs one Lambda deployment package inside a worker thread, with the function's own environment
// (worker threads get their own process.env). Messages in: { id, event }; out: { id, result } or { id, error }.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');

const mod = require(workerData.modulePath);
const handler = mod[workerData.handlerName];

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
});
