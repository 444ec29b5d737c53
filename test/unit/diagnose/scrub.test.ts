import { describe, expect, test } from 'vitest';
import { scrubPasswords } from '../../../src/commands/diagnose.js';

describe('the report’s password net', () => {
  test('a long password quoted in an error text is masked; names and keys are untouched', () => {
    const out = scrubPasswords(
      { error: 'connect to postgres://u:s3cret-pw@db failed', queue: 'execution_tasks' },
      ['postgres://u:s3cret-pw@db:5432/x', 'http://sentinel:x@127.0.0.1:1'],
    );
    expect(out).toEqual({ error: 'connect to postgres://u:****@db failed', queue: 'execution_tasks' });
  });

  test('a one-letter password does not garble every word containing that letter', () => {
    const report = { type: 'quorum', name: 'execution_tasks', target: 'http://sentinel:****@127.0.0.1:1/' };
    expect(scrubPasswords(report, ['http://sentinel:x@127.0.0.1:1'])).toEqual(report);
  });
});
