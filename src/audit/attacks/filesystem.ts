import type { Attack, AttackContext } from '../types.js';
import { attack, code } from './prelude.js';

/**
 * Filesystem: the root and every system mount are read-only, /tmp is the only writable place,
 * /proc/sys and the host's kernel knobs cannot be opened for writing, and no device node beyond
 * null/zero/random exists or can be made. Probes open for writing but never write to a host file,
 * so a broken sandbox is reported without being damaged further.
 */
export function filesystemAttacks(ctx: AttackContext): Attack[] {
  const writeTargets = [
    '/audit-escape',
    '/usr/audit-escape',
    '/usr/bin/python3',
    '/etc/audit-escape',
    '/etc/passwd',
    '/src/main.py',
    '/out/audit-escape',
    '/dev/audit-escape',
    '/var/audit-escape',
    `${ctx.stateDir}/audit-escape`,
  ];
  const procTargets = [
    '/proc/sys/kernel/core_pattern',
    '/proc/sys/kernel/modprobe',
    '/proc/sys/kernel/hostname',
    '/proc/sys/vm/drop_caches',
    '/proc/sys/net/ipv4/ip_forward',
    '/proc/sysrq-trigger',
  ];
  const devices = [
    '/dev/mem',
    '/dev/kmem',
    '/dev/port',
    '/dev/kmsg',
    '/dev/sda',
    '/dev/vda',
    '/dev/nvme0n1',
    '/dev/fuse',
  ];
  return [
    attack({
      id: 'fs-write-outside',
      category: 'filesystem',
      title: 'write outside /tmp: /, /usr, /etc, /usr/bin/python3, /src, /out, /dev, the state dir',
      language: 'python',
      body: code`
TARGETS = ${JSON.stringify(writeTargets)}
for path in TARGETS:
    existed = os.path.lexists(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except Exception as e:
        blocked('write ' + path, why(e))
        continue
    os.close(fd)
    if not existed:
        try:
            os.unlink(path)
        except Exception:
            pass
    escaped('write ' + path, 'opened for writing (nothing written)')
`,
      expect: {
        text: 'every open for writing refused (EROFS / ENOENT)',
        statuses: ['SUCCESS'],
        blocked: writeTargets.length,
      },
    }),
    attack({
      id: 'fs-proc-sys',
      category: 'filesystem',
      title: 'write /proc/sys (core_pattern, modprobe, hostname, drop_caches), sysrq-trigger, oom_score_adj',
      language: 'python',
      body: code`
for path in ${JSON.stringify(procTargets)}:
    try:
        fd = os.open(path, os.O_WRONLY)
    except Exception as e:
        blocked('open ' + path + ' for writing', why(e))
        continue
    os.close(fd)
    escaped('open ' + path + ' for writing', 'opened (nothing written)')
what = 'lower own /proc/self/oom_score_adj to -1000'
try:
    with open('/proc/self/oom_score_adj', 'w') as f:
        f.write('-1000')
    escaped(what, 'accepted: the OOM killer would now spare this process')
except Exception as e:
    blocked(what, why(e))
`,
      expect: {
        text: 'nothing opens for writing (EACCES / EROFS); oom_score_adj cannot be lowered',
        statuses: ['SUCCESS'],
        blocked: procTargets.length + 1,
      },
    }),
    attack({
      id: 'fs-devices',
      category: 'filesystem',
      title: 'device nodes: /dev/mem, /dev/kmsg, disks, /dev/fuse, and mknod of a new /dev/mem',
      language: 'python',
      body: code`
import stat
for path in ${JSON.stringify(devices)}:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except Exception as e:
        blocked('open ' + path, why(e))
        continue
    os.close(fd)
    escaped('open ' + path, 'opened for reading')
what = 'mknod /tmp/mem (char 1:1, as /dev/mem)'
try:
    os.mknod('/tmp/mem', 0o600 | stat.S_IFCHR, os.makedev(1, 1))
    try:
        with open('/tmp/mem', 'rb') as f:
            escaped(what, 'created and read ' + show(f.read(16)))
    except Exception as e:
        # A node the mount's nodev makes unusable reaches nothing.
        blocked(what, 'created, but it does not open: ' + why(e))
except Exception as e:
    blocked(what, why(e))
`,
      expect: {
        text: 'no such devices (ENOENT); mknod refused (EPERM)',
        statuses: ['SUCCESS'],
        blocked: devices.length + 1,
      },
    }),
  ];
}
