/**
 * Puts a stack into a state diagnose should flag: N jobs published to execution_tasks with no
 * consumer (a backlog). Used by tmux-check.sh and run.ts.
 *   node --import tsx bench/diagnose/provoke.ts --state-dir DIR --port-offset N [--messages 1500]
 */
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { loadConfig } from '../../src/config/load.js';
import { endpoints } from '../../src/services/endpoints.js';
import { TASK_QUEUE } from '../../src/services/rabbitmq/topology.js';

const { values } = parseArgs({
  options: {
    'state-dir': { type: 'string' },
    'port-offset': { type: 'string' },
    config: { type: 'string' },
    messages: { type: 'string', default: '1500' },
  },
});
const { config } = loadConfig({
  configFile: values.config,
  flags: [
    { path: 'stateDir', value: values['state-dir'], flag: '--state-dir' },
    {
      path: 'portOffset',
      value: values['port-offset'] ? Number(values['port-offset']) : undefined,
      flag: '--port-offset',
    },
  ],
});
const n = Number(values.messages);
const conn = await amqp.connect(endpoints(config).rabbitmqUrl);
const ch = await conn.createConfirmChannel();
for (let i = 0; i < n; i++) {
  ch.sendToQueue(
    TASK_QUEUE,
    Buffer.from(JSON.stringify({ job_id: `provoked-${Date.now()}-${i}`, language: 'python' })),
    {
      persistent: true,
    },
  );
}
await ch.waitForConfirms();
await conn.close();
console.error(`published ${n} messages to ${TASK_QUEUE}`);
