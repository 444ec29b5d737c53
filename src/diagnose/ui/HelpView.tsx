import { Box, Text } from 'ink';

const keys: Array<[string, string]> = [
  ['↑ ↓  k j', 'move the selection'],
  ['tab ← →', 'switch between components, findings and (--k8s) pods'],
  ['enter', "details of a component, a finding, or a pod's containers and events"],
  ['esc  backspace', 'back to the overview'],
  ['space', 'pause / resume refreshing'],
  ['/', 'filter (type, enter to keep, esc to clear)'],
  ['r', 'refresh now'],
  ['s', 'sort findings: severity, component, rule id'],
  ['+  -', 'refresh less / more often (0.5 s … 60 s)'],
  ['?', 'this help'],
  ['q  ctrl-c', 'quit (exit 0: --once and --json are the forms that exit 1 on a critical finding)'],
];

/** Key bindings, pg_activity / k9s style. */
export function HelpView({ intervalMs }: { intervalMs: number }) {
  return (
    <Box flexDirection="column">
      <Text bold>Keys</Text>
      {keys.map(([k, what]) => (
        <Text key={k}>
          <Text color="cyan">{k.padEnd(16)}</Text>
          {what}
        </Text>
      ))}
      <Text> </Text>
      <Text>
        Refreshes every {intervalMs / 1000} s. Colours: <Text color="red">critical</Text>,{' '}
        <Text color="yellow">warning</Text>, <Text color="cyan">info</Text>, <Text color="green">ok</Text>.
      </Text>
      <Text>
        Windowed alerts (backlog 5 m, no worker 3 m, error rate 5 m, sandbox failures in 5 m) read Prometheus
        or the sample file the --once runs share; each finding names its window source.
      </Text>
      <Text dimColor>Press ? or esc to go back.</Text>
    </Box>
  );
}
