import { escapeXml } from './format.js';
import type { BenchResult } from './model.js';

/**
 * JUnit XML with one test case per threshold, the form CI systems (GitLab, Jenkins, GitHub
 * test reporters) display: a failed threshold is a failed test with the observed value.
 */
export function renderJunit(r: BenchResult): string {
  const failures = r.thresholds.filter((t) => !t.pass).length;
  const time = (r.measuredMs / 1000).toFixed(3);
  const suite = `bench ${r.scenario.name}`;
  const cases = r.thresholds.map((t) => {
    const name = escapeXml(`${t.metric}: ${t.expression}`);
    const classname = escapeXml(`bench.${r.scenario.name}.${t.metric.replace(/\{.*$/, '')}`);
    const props = `observed ${t.observedText}; source ${t.source}`;
    if (t.pass) {
      return `    <testcase classname="${classname}" name="${name}" time="0"><system-out>${escapeXml(props)}</system-out></testcase>`;
    }
    return [
      `    <testcase classname="${classname}" name="${name}" time="0">`,
      `      <failure type="threshold" message="${escapeXml(`observed ${t.observedText}, wanted ${t.expression}`)}">${escapeXml(props)}</failure>`,
      '    </testcase>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="sentinel-ctl bench" tests="${r.thresholds.length}" failures="${failures}" errors="0" time="${time}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${r.thresholds.length}" failures="${failures}" errors="0" skipped="0" time="${time}" timestamp="${r.startedAt.replace(/\.\d+Z$/, '')}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
