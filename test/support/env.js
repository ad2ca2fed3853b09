// Tests run against the test database and a Redis key prefix of their own (set per test too).
process.env.DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/tsp_test';
process.env.REDIS_URL = process.env.TEST_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL || 'error';
// Ingest refuses to start with neither WEBHOOK_SECRET nor WEBHOOK_ALLOWED_IPS. Most suites test
// something else and post without a secret, so they opt out as an operator would; the suites that
// test webhook authentication set (or clear) these variables themselves.
if (!process.env.WEBHOOK_AUTH) process.env.WEBHOOK_AUTH = 'none';
