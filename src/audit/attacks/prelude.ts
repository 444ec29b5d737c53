import type { Attack, AttackCategory, AttackContext, Expectation } from '../types.js';

/**
 * The pieces every attack program shares. Each program prints one line per probe:
 * `BLOCKED: <probe>: <why it failed>` or `ESCAPED: <probe>: <what it got>`; `INFO:` lines are
 * context only. What an escape prints is the thing it got, so a leaked secret also shows up in
 * the output, where the evaluator's secret search finds it whatever the program claims.
 */

/** Wall-clock limit of attacks that end by themselves (probes): room for a loaded 2-core host. */
export const PROBE_TIME_LIMIT_MS = 5000;
/** Wall-clock limit of attacks that run until stopped (bombs, loops): small, so the audit stays short. */
export const BOMB_TIME_LIMIT_MS = 2000;
/**
 * The job memory limit every attack runs under: the contract's default (262144 KB,
 * docs/design.md "The stack contract").
 */
export const AUDIT_MEMORY_LIMIT_KB = 262_144;

/**
 * A template tag for program sources: backslashes stay as written (`\n` inside a C++ or Python
 * string literal reaches the compiler as backslash-n), like String.raw, whether or not a given
 * program happens to contain one today.
 */
export const code = (strings: TemplateStringsArray, ...values: unknown[]): string =>
  String.raw({ raw: strings.raw }, ...values);

/** Python helpers: `blocked`, `escaped`, `why(exception)`, `show(bytes)`. */
export const PY_PRELUDE = code`import errno, os, socket, sys

def why(e):
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, str(e.errno))
    text = str(e)
    return type(e).__name__ + (': ' + text if text else '')

def blocked(what, reason):
    print('BLOCKED: ' + what + ': ' + reason, flush=True)

def escaped(what, got):
    print('ESCAPED: ' + what + ': ' + got, flush=True)

def show(data):
    return repr(data[:200])
`;

/** C++ helpers: `blocked`, `escaped`, `en(errno)`, `slurp(path)`, `check(what, rc)`. */
export const CPP_PRELUDE = code`#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

static std::string en(int e) {
  const char *name = strerrorname_np(e);
  return name ? name : "errno " + std::to_string(e);
}
static void blocked(const std::string &what, const std::string &why) {
  std::printf("BLOCKED: %s: %s\n", what.c_str(), why.c_str());
  std::fflush(stdout);
}
static void escaped(const std::string &what, const std::string &got) {
  std::printf("ESCAPED: %s: %s\n", what.c_str(), got.c_str());
  std::fflush(stdout);
}
static std::string slurp(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
// A call that must fail: BLOCKED with its errno, ESCAPED when it succeeds.
static void check(const std::string &what, long rc) {
  int e = errno;
  if (rc == -1) blocked(what, en(e));
  else escaped(what, "succeeded (returned " + std::to_string(rc) + ")");
}
`;

/** A C++ string literal. */
export const cppStr = (s: string): string => JSON.stringify(s);

/** The host pids the audit knows (worker, API), with a name, for the probes that aim at them. */
export function knownPids(ctx: AttackContext): Array<{ name: string; pid: number }> {
  const out: Array<{ name: string; pid: number }> = [];
  if (ctx.workerPid !== undefined) out.push({ name: 'worker', pid: ctx.workerPid });
  if (ctx.apiPid !== undefined) out.push({ name: 'API', pid: ctx.apiPid });
  return out;
}

/** Builds an attack with the shared defaults (memory limit, prelude). */
export function attack(a: {
  id: string;
  category: AttackCategory;
  title: string;
  language: 'python' | 'cpp';
  body: string;
  timeLimitMs?: number;
  expect: Expectation;
  hostWatch?: string;
}): Attack {
  return {
    id: a.id,
    category: a.category,
    title: a.title,
    language: a.language,
    source: `${a.language === 'python' ? PY_PRELUDE : CPP_PRELUDE}\n${a.body.trim()}\n`,
    timeLimitMs: a.timeLimitMs ?? PROBE_TIME_LIMIT_MS,
    memoryLimitKb: AUDIT_MEMORY_LIMIT_KB,
    expect: a.expect,
    ...(a.hostWatch === undefined ? {} : { hostWatch: a.hostWatch }),
  };
}
