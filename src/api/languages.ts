import { run } from '../lib/proc.js';
import { CPP_COMPILE_ARGV, PYTHON_ARGV } from '../worker/sandbox/run-job.js';

/** One entry of GET /api/v1/languages (docs/api.md "Languages"), upstream's shape. */
export interface LanguageInfo {
  name: 'python' | 'cpp';
  version: string;
  compiler?: string;
}

/**
 * The versions of the very binaries the worker runs (its argv constants): `python3 --version`
 * and `g++ -dumpfullversion`. A binary that cannot be asked says `unknown` rather than failing
 * the route.
 */
export async function languageVersions(): Promise<LanguageInfo[]> {
  const ask = async (file: string, args: string[], pattern: RegExp) => {
    try {
      const r = await run(file, args, { reject: false, timeoutMs: 10_000 });
      return pattern.exec(`${r.stdout}\n${r.stderr}`)?.[1] ?? 'unknown';
    } catch {
      return 'unknown';
    }
  };
  const [python, gpp] = await Promise.all([
    ask(PYTHON_ARGV[0]!, ['--version'], /Python (\S+)/),
    ask(CPP_COMPILE_ARGV[0]!, ['-dumpfullversion'], /^(\d+(?:\.\d+)*)/m),
  ]);
  return [
    { name: 'python', version: python },
    // Compiled as the worker does: g++ -O2 -std=c++17 (docs/api.md "Languages").
    { name: 'cpp', version: gpp, compiler: 'g++' },
  ];
}
