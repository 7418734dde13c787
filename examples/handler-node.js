// A function handler that tells warmd whether its container was reused.
//
// As an AWS Lambda function (Node.js, behind API Gateway or a Function URL)
// export `handler`.  As a container (Google Cloud Run, or a local test) run it
// directly: "node handler-node.js" listens on $PORT (default 8080); one
// process is one container.
//
// Every response carries
//     X-Container-Reused: true|false    false only for the first invocation
//     X-Container-Id: <id>              made once per container
// and the JSON body {"reused": bool, "container": "<id>"}, which match
// warmd's reuse_header / instance_header and reuse_json / instance_json keys.
//
// A request with the header "X-Warmup: 1" is a keep-alive request: the
// handler holds its container for WARMUP_HOLD_MS, so that the parallel warm-up
// requests overlap and each one needs a container of its own, then returns
// without doing the real work.
'use strict';

const crypto = require('crypto');

const WARMUP_HOLD_MS = 100;

// Module-level state lives exactly as long as the container: it is set up
// once, at the cold start, and seen again by every later (warm) invocation.
const CONTAINER_ID = crypto.randomBytes(6).toString('hex');
let used = false;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function header(headers, name) {
  // API Gateway v1 keeps the case of header names; v2, Function URLs and
  // Node's http module lower it.
  name = name.toLowerCase();
  for (const [key, value] of Object.entries(headers || {}))
    if (key.toLowerCase() === name) return value;
  return undefined;
}

// Shared by both entry points: returns {statusCode, headers, body}.
async function handle(headers) {
  const reused = used;
  used = true;
  const respond = (extra) => ({
    statusCode: 200,
    headers: {
      'Content-Type': 'application/json',
      'X-Container-Reused': String(reused),
      'X-Container-Id': CONTAINER_ID,
    },
    body: JSON.stringify({ reused, container: CONTAINER_ID, ...extra }),
  });

  if (header(headers, 'X-Warmup') === '1') {
    await sleep(WARMUP_HOLD_MS);
    return respond({ warmup: true });
  }

  // The real work of the function goes here.
  return respond({ message: 'hello' });
}

// AWS Lambda entry point.
exports.handler = async (event) => handle(event && event.headers);

// Container entry point (Cloud Run, local tests).
if (require.main === module) {
  const http = require('http');
  const port = Number(process.env.PORT || 8080);

  http.createServer((req, res) => {
    req.resume();                       // the body is not needed
    req.on('end', async () => {
      const r = await handle(req.headers);
      res.writeHead(r.statusCode, { ...r.headers, 'Content-Length': Buffer.byteLength(r.body) });
      res.end(r.body);
    });
  }).listen(port, process.env.HOST || '0.0.0.0');
}
