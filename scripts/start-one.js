// `pnpm start:<service>`: one service in the foreground (what a container or pod runs).
const { SERVICES, loadEnv, serviceMain } = require('./load-env');

const name = process.argv[2];
if (!SERVICES.includes(name)) {
  console.error(`usage: node scripts/start-one.js <${SERVICES.join('|')}>`);
  process.exit(2);
}
loadEnv();
require(serviceMain(name));
