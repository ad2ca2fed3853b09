/** DEST_ALLOWED_HOSTS and FINVIZ_ALLOWED_HOSTS name hosts: anything else would silently match nothing, so it stops the start. */
import { ConfigError, loadConfig } from '../src';

const base = { DEST_WEBHOOK_URL: 'https://webhooks.traderspost.io/trading/webhook/abc/secret' };

describe('allowed-host lists', () => {
  it('default DEST_ALLOWED_HOSTS to the host of DEST_WEBHOOK_URL, with its port when it names one', () => {
    expect(loadConfig(base).destAllowedHosts).toEqual(['webhooks.traderspost.io']);
    expect(loadConfig({ DEST_WEBHOOK_URL: 'http://127.0.0.1:9000/hook' }).destAllowedHosts).toEqual(['127.0.0.1:9000']);
    expect(loadConfig({}).destAllowedHosts).toEqual([]);
  });

  it('take hosts, host:port and [IPv6]:port', () => {
    expect(loadConfig({ ...base, DEST_ALLOWED_HOSTS: 'broker.example, 127.0.0.1:8443,[::1]:9000' }).destAllowedHosts).toEqual(['broker.example', '127.0.0.1:8443', '[::1]:9000']);
  });

  it.each(['https://broker.example', 'broker.example/path', 'user@broker.example', 'broker example', 'br\u043eker.example', 'broker.example:port'])('stop the start on %j, naming the variable', (entry) => {
    for (const name of ['DEST_ALLOWED_HOSTS', 'FINVIZ_ALLOWED_HOSTS']) {
      expect(() => loadConfig({ ...base, [name]: `ok.example,${entry}` })).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, [name]: entry })).toThrow(new RegExp(name));
    }
  });
});
