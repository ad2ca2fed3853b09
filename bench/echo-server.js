// The baseline of bench/ingest.js: bare express (the version ingest uses) parsing a JSON body
// and echoing it back with 202 — HTTP + JSON cost and nothing else. Runs as a child process, as
// ingest does, and tells its parent the port over IPC.
const path = require('node:path');

const express = require(require.resolve('express', { paths: [path.join(__dirname, '../services/ingest')] }));

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/webhook/in', express.json({ limit: '16kb' }), (req, res) => {
  res.status(202).json(req.body);
});

const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
});
server.keepAliveTimeout = 65_000; // as ingest's listen() does
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
