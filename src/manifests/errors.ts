import { UserError } from '../lib/errors.js';

/** One place in one file: what the user needs to open the file at the right line. */
export interface FileProblem {
  /** Path as shown to the user (relative to the tree's base). */
  file: string;
  /** 1-based line, 0 when the problem is about the whole file. */
  line: number;
  /** 1-based column, 0 when unknown. */
  column: number;
  reason: string;
}

function formatProblem(p: FileProblem): string {
  const at = p.line > 0 ? `:${p.line}${p.column > 0 ? `:${p.column}` : ''}` : '';
  return `${p.file}${at}: ${p.reason}`;
}

function formatProblems(head: string, problems: FileProblem[]): string {
  const shown = problems.slice(0, 20).map((p) => `  ${formatProblem(p)}`);
  if (problems.length > 20) shown.push(`  … and ${problems.length - 20} more`);
  return `${head}\n${shown.join('\n')}`;
}

/**
 * A manifest or env file that cannot be parsed. Raised while loading, before any plan exists, so
 * nothing has been written (exit 2).
 */
export class ManifestParseError extends UserError {
  readonly problems: FileProblem[];

  constructor(problems: FileProblem[]) {
    const files = new Set(problems.map((p) => p.file)).size;
    super(
      formatProblems(
        `Cannot parse ${files === 1 ? 'a manifest file' : `${files} manifest files`}; no file was changed:`,
        problems,
      ),
      {
        code: 'MANIFEST_PARSE',
        suggestion:
          'Fix the YAML at the line shown (a linter such as `yamllint` shows the same spot), then run again.',
      },
    );
    this.problems = problems;
  }
}

/**
 * An edit the library will not make because it cannot be made safely (a shared anchor, a key given
 * twice, a value owned by a Kustomize patch, an ambiguous target). Exit 2; nothing is written.
 */
export class ManifestRefusal extends UserError {
  readonly problems: FileProblem[];

  constructor(problems: FileProblem[], suggestion?: string) {
    super(
      formatProblems(
        problems.length === 1
          ? 'Refusing to edit the manifests; no file was changed:'
          : `Refusing ${problems.length} manifest edits; no file was changed:`,
        problems,
      ),
      {
        code: 'MANIFEST_REFUSED',
        suggestion:
          suggestion ?? 'Make this change by hand at the line shown, or restructure the file and run again.',
      },
    );
    this.problems = problems;
  }
}

/** Internal: thrown by edit handlers, collected by the planner into one ManifestRefusal. */
export class RefusalSignal extends Error {
  readonly problem: FileProblem;

  constructor(problem: FileProblem) {
    super(formatProblem(problem));
    this.problem = problem;
  }
}

export function refuse(file: string, line: number, reason: string, column = 0): never {
  throw new RefusalSignal({ file, line, column, reason });
}
