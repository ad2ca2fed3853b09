/** LOG_LEVEL is a winston level, written in any case; anything else stops the start naming the variable. */
import { ConfigError, createLogger, loadConfig } from '../src';

describe('LOG_LEVEL', () => {
  it('defaults to info', () => {
    expect(loadConfig({}).logLevel).toBe('info');
  });

  it.each([['INFO', 'info'], ['Debug', 'debug'], ['wArN', 'warn'], ['error', 'error'], [' Verbose ', 'verbose'], ['SILLY', 'silly']])(
    'reads %j as %s, a level winston takes',
    (raw, level) => {
      const { logLevel } = loadConfig({ LOG_LEVEL: raw });
      expect(logLevel).toBe(level);
      expect(createLogger('test', logLevel).level).toBe(level);
    },
  );

  it.each([
    ['an unknown level', 'loud'],
    ['a number', '3'],
    ['a level with a control character', 'info\u0000'],
    ['a Cyrillic look-alike', '\u0456nfo'],
    ['a dotted-i capital that lower-cases to something else', '\u0130NFO'],
    ['two levels', 'info,debug'],
  ])('stops the start for %s, naming the variable', (_name, raw) => {
    expect(() => loadConfig({ LOG_LEVEL: raw })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_LEVEL: raw })).toThrow(/^LOG_LEVEL must be one of error, warn, info/);
  });
});
