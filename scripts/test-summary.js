// Prints vitest's JSON report as one plain closing line ("N passed, N failed, N skipped"),
// the form CI logs are read for, and fails when no test ran at all.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'reports/vitest.json';
const r = JSON.parse(readFileSync(file, 'utf8'));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
process.exit(r.numTotalTests > 0 && r.numFailedTests === 0 ? 0 : 1);
