// Tests run against the test database and a Redis key prefix of their own (set per test too).
process.env.DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/tsp_test';
process.env.REDIS_URL = process.env.TEST_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL || 'error';
