/** .env.example is the repository's list of every variable: it must name the contract's, with its defaults. */
import { COMPOSE_ONLY_VARS, CONTRACT_VARS, SERVICES, SERVICE_NAMES, configVariables, envExampleEntries, read } from '../support/deploy-contract';

describe('.env.example', () => {
  it.each([...Object.keys(CONTRACT_VARS), ...SERVICE_NAMES.map((s) => SERVICES[s].portVar)])('lists %s', (name) => {
    expect(envExampleEntries.map((entry) => entry.name)).toContain(name);
  });

  it('shows the contract defaults', () => {
    const wrong = envExampleEntries
      .filter((entry) => !entry.commented && CONTRACT_VARS[entry.name])
      .filter((entry) => entry.value !== CONTRACT_VARS[entry.name])
      .map((entry) => `${entry.name}=${entry.value} (contract: ${CONTRACT_VARS[entry.name]})`);
    expect(wrong).toEqual([]);
  });
});

describe('.env.example and the configuration', () => {
  it('lists only variables the relay reads, or that the compose file itself uses', () => {
    const read = configVariables();
    expect(envExampleEntries.map((e) => e.name).filter((name) => !read.has(name) && !COMPOSE_ONLY_VARS.has(name))).toEqual([]);
  });

  it('says what each compose-only variable is for, and compose uses it', () => {
    for (const name of COMPOSE_ONLY_VARS) {
      expect(envExampleEntries.map((e) => e.name)).toContain(name);
      // Compose reads COMPOSE_PROJECT_NAME from .env itself; the others are interpolated.
      if (name !== 'COMPOSE_PROJECT_NAME') expect(read('docker-compose.yml')).toContain(`\${${name}:-`);
    }
  });

  it('lists every variable the relay reads', () => {
    const listed = new Set(envExampleEntries.map((e) => e.name));
    expect([...configVariables()].filter((name) => !listed.has(name))).toEqual([]);
  });
});
