import { terminalStatuses as contractTerminalStatuses } from '../jobs/repository.js';

/** One program the Sentinel scenario submits, with the result it must produce. */
export interface Payload {
  name: string;
  language: 'python' | 'cpp';
  source: string;
  stdin?: string;
  expectedStdout: string;
  /** The terminal status that counts as success for this payload (SUCCESS unless a test wants an error). */
  expectedStatus: string;
  weight: number;
}

/**
 * The default payload set: short Python and C++ programs, the first the deployment guide's own
 * smoke test (`print(42)`, Sentinel deployment guide "3. Submit Test Job"), the others exercise
 * stdin, a loop and the C++ compile step. Python outweighs C++ because a C++ job also compiles
 * (Sentinel tuning guide, RabbitMQ: "100ms Python print vs 10s C++ compile").
 */
export const defaultPayloads: Payload[] = [
  {
    name: 'python-print',
    language: 'python',
    source: 'print(42)\n',
    expectedStdout: '42\n',
    expectedStatus: 'SUCCESS',
    weight: 4,
  },
  {
    name: 'python-stdin-sum',
    language: 'python',
    source: 'import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n',
    stdin: '1 2 3 4 5 6 7 8 9 10\n',
    expectedStdout: '55\n',
    expectedStatus: 'SUCCESS',
    weight: 3,
  },
  {
    name: 'cpp-hello',
    language: 'cpp',
    source: '#include <iostream>\nint main() { std::cout << "hello" << std::endl; return 0; }\n',
    expectedStdout: 'hello\n',
    expectedStatus: 'SUCCESS',
    weight: 2,
  },
  {
    name: 'cpp-loop',
    language: 'cpp',
    source:
      '#include <cstdio>\nint main() { long long s = 0; for (int i = 1; i <= 1000000; ++i) s += i; std::printf("%lld\\n", s); return 0; }\n',
    expectedStdout: '500000500000\n',
    expectedStatus: 'SUCCESS',
    weight: 1,
  },
];

/** The statuses after which a job does not change (docs/design.md "The stack contract"). */
export const terminalStatuses = new Set<string>(contractTerminalStatuses);
