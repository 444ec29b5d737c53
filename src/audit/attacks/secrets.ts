import type { Attack, AttackContext } from '../types.js';
import { attack, code, knownPids } from './prelude.js';

/**
 * Secrets: nothing of the host is mounted (the state dir with credentials.json, /etc/shadow, /root),
 * the program's environment and its pid 1's hold nothing of the worker's, and the worker's and the
 * API's processes are outside the sandbox's pid namespace. What a probe reads is printed, so a
 * leaked password also trips the evaluator's secret search.
 */
export function secretAttacks(ctx: AttackContext): Attack[] {
  const hostPaths = [
    '/etc/shadow',
    '/etc/gshadow',
    '/etc/sudoers',
    '/root',
    '/home',
    '/etc/ssh',
    ctx.stateDir,
    ctx.credentialsFile,
    ...(ctx.configFile ? [ctx.configFile] : []),
  ];
  const linkTargets = [
    '/etc/shadow',
    ctx.stateDir,
    ctx.credentialsFile,
    '/proc/1/root/etc/shadow',
    `/proc/1/root${ctx.credentialsFile}`,
  ];
  const compileProbes = ['/etc/shadow', ctx.credentialsFile, ...(ctx.configFile ? [ctx.configFile] : [])];
  const pids = knownPids(ctx).map(({ name, pid }) => [name, pid] as const);
  return [
    attack({
      id: 'secrets-host-files',
      category: 'secrets',
      title: "read host secrets by absolute path: /etc/shadow, /root, the state dir's credentials.json",
      language: 'python',
      body: code`
PATHS = ${JSON.stringify(hostPaths)}
for path in PATHS:
    try:
        if os.path.isdir(path):
            escaped(path, 'listed ' + repr(sorted(os.listdir(path))[:20]))
        else:
            with open(path, 'rb') as f:
                escaped(path, 'read ' + show(f.read(400)))
    except Exception as e:
        blocked(path, why(e))
left = sorted(os.listdir('/tmp'))
if left:
    escaped('/tmp', 'holds files this job did not write: ' + repr(left[:20]))
else:
    blocked('/tmp', 'empty: a private tmpfs, not the host /tmp')
`,
      expect: {
        text: 'nothing of the host is there (ENOENT); /tmp is private',
        statuses: ['SUCCESS'],
        blocked: hostPaths.length + 1,
      },
    }),
    attack({
      id: 'secrets-compile-include',
      category: 'secrets',
      title: 'read host files at compile time: __has_include / #include of /etc/shadow and credentials.json',
      language: 'cpp',
      // The compiler runs in the sandbox too; were the files visible, including them would put
      // their text into the compiler's error messages, where the secret search finds it.
      body: code`
${compileProbes.map((p, i) => `#if __has_include(${JSON.stringify(p)})\n#define SEEN_${i} 1\n#else\n#define SEEN_${i} 0\n#endif`).join('\n')}

int main() {
  const struct { const char *path; bool seen; } probes[] = {
${compileProbes.map((p, i) => `      {${JSON.stringify(p)}, SEEN_${i}},`).join('\n')}
  };
  for (const auto &p : probes) {
    std::string what = std::string("#include \"") + p.path + "\" at compile time";
    if (p.seen) escaped(what, "the compiler can read it");
    else blocked(what, "not there for the compiler");
  }
  return 0;
}
`,
      expect: {
        text: 'the compiler sees none of them',
        statuses: ['SUCCESS'],
        blocked: compileProbes.length,
      },
    }),
    attack({
      id: 'secrets-environment',
      category: 'secrets',
      title: "connection strings in the environment: own, pid 1's, every visible process's, the worker's",
      language: 'python',
      body: code`
MARKERS = ('DATABASE_URL', 'RABBITMQ_URL', 'REDIS_URL', 'PASSWORD', 'SECRET', 'TOKEN', '://')
def leaks(text):
    return [m for m in MARKERS if m in text]
def read(path):
    with open(path, 'rb') as f:
        return f.read().replace(b'\0', b' ').decode('utf-8', 'replace')

own = ' '.join(k + '=' + v for k, v in sorted(os.environ.items()))
if leaks(own):
    escaped('own environment', own)
else:
    blocked('own environment', 'only ' + ', '.join(sorted(os.environ)))
try:
    env1 = read('/proc/1/environ')
    if leaks(env1):
        escaped('/proc/1/environ', env1)
    else:
        blocked('/proc/1/environ', 'no connection string (' + str(len(env1.split())) + ' variables)')
except Exception as e:
    blocked('/proc/1/environ', why(e))
seen, found = 0, []
for pid in sorted(os.listdir('/proc')):
    if not pid.isdigit():
        continue
    for part in ('environ', 'cmdline'):
        try:
            text = read('/proc/%s/%s' % (pid, part))
        except Exception:
            continue
        seen += 1
        if leaks(text):
            found.append('/proc/%s/%s: %s' % (pid, part, text[:400]))
if found:
    escaped('environments of visible processes', ' | '.join(found))
else:
    blocked('environments of visible processes', '%d files read, no connection string' % seen)
for name, pid in ${JSON.stringify(pids)}:
    what = 'the %s (host pid %d): /proc/%d/environ' % (name, pid, pid)
    try:
        text = read('/proc/%d/environ' % pid)
    except Exception as e:
        blocked(what, why(e))
        continue
    if leaks(text):
        escaped(what, text[:400])
    else:
        blocked(what, 'pid %d here is another process, without connection strings' % pid)
`,
      expect: {
        text: 'no connection string anywhere; the worker and API pids do not exist inside',
        statuses: ['SUCCESS'],
        blocked: 3 + pids.length,
      },
    }),
    attack({
      id: 'secrets-symlinks',
      category: 'secrets',
      title: 'symlinks in /tmp to /etc/shadow, the state dir, credentials.json, and via /proc/1/root',
      language: 'python',
      body: code`
TARGETS = ${JSON.stringify(linkTargets)}
for i, target in enumerate(TARGETS):
    link = '/tmp/link-%d' % i
    what = link + ' -> ' + target
    try:
        os.symlink(target, link)
    except Exception as e:
        blocked(what, 'symlink failed: ' + why(e))
        continue
    try:
        if os.path.isdir(link):
            escaped(what, 'listed ' + repr(sorted(os.listdir(link))[:20]))
        else:
            with open(link, 'rb') as f:
                escaped(what, 'read ' + show(f.read(400)))
    except Exception as e:
        blocked(what, why(e))
`,
      expect: {
        text: 'every link dangles (ENOENT / EACCES): the targets are not in the sandbox',
        statuses: ['SUCCESS'],
        blocked: linkTargets.length,
      },
    }),
  ];
}
