import { describe, expect, test } from 'vitest';
import { inheritableFds, O_CLOEXEC, parseFdinfoFlags } from '../../../src/worker/sandbox/fds.js';

describe('descriptors a sandbox would inherit', () => {
  test.each([
    { fdinfo: 'pos:\t0\nflags:\t01\nmnt_id:\t14\nino:\t308985\n', flags: 0o1 },
    { fdinfo: 'pos:\t0\nflags:\t02004002\nmnt_id:\t15\n', flags: 0o2004002 },
    { fdinfo: 'pos:\t0\nflags:\t0102001\n', flags: 0o102001 },
    { fdinfo: 'pos:\t0\n', flags: undefined },
  ])('flags of $fdinfo', ({ fdinfo, flags }) => {
    expect(parseFdinfoFlags(fdinfo)).toBe(flags);
  });

  test("only descriptors above stderr without close-on-exec (the worker's own fdinfo, as seen)", () => {
    expect(
      inheritableFds([
        { fd: 0, flags: 0o2100000 },
        { fd: 1, flags: 0o102001 },
        { fd: 2, flags: 0o2 },
        { fd: 3, flags: 0o2000002 },
        { fd: 5, flags: 0o2000001 },
        { fd: 17, flags: 0o2100000 },
        { fd: 251, flags: 0o1 },
        { fd: 200, flags: 0o102001 },
        { fd: 18, flags: 0o2004002 },
      ]),
    ).toEqual([200, 251]);
    expect(O_CLOEXEC).toBe(0x80000);
  });
});
