import { Box, Text } from 'ink';

const keys: Array<[string, string]> = [
  ['↑ ↓  k j', 'move the selection'],
  ['tab ← →', 'switch between components and findings'],
  ['enter', 'details of the selected component or finding'],
  ['esc  backspace', 'back to the overview'],
  ['space', 'pause / resume refreshing'],
  ['/', 'filter (type, enter to keep, esc to clear)'],
  ['r', 'refresh now'],
  ['?', 'this help'],
  ['q  ctrl-c', 'quit (exit 1 if the last refresh had a critical finding)'],
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
        Sustained conditions (queue backlog 5 m, no worker 3 m) keep their first-seen time across refreshes.
      </Text>
      <Text dimColor>Press ? or esc to go back.</Text>
    </Box>
  );
}
