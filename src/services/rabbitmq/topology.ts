import type { Channel } from 'amqplib';

/**
 * The queues of docs/design.md "The stack contract": a durable quorum queue `execution_tasks` whose
 * rejected or over-delivered messages go through `dlx.execution_tasks` (routing key
 * `execution_tasks.dlq`) to `execution_tasks.dlq`. Shared by `up`, the worker and the API, so
 * every declaration uses the same arguments (RabbitMQ refuses a redeclare with different ones).
 */
export const TASK_QUEUE = 'execution_tasks';
export const DEAD_LETTER_EXCHANGE = 'dlx.execution_tasks';
export const DEAD_LETTER_ROUTING_KEY = 'execution_tasks.dlq';
export const DEAD_LETTER_QUEUE = 'execution_tasks.dlq';

export interface TopologyOptions {
  /** Deliveries before a message is dead-lettered (quorum queue x-delivery-limit). */
  deliveryLimit: number;
}

export function taskQueueArguments(opts: TopologyOptions): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
    'x-dead-letter-routing-key': DEAD_LETTER_ROUTING_KEY,
    'x-delivery-limit': opts.deliveryLimit,
  };
}

export async function declareTopology(ch: Channel, opts: TopologyOptions): Promise<void> {
  await ch.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  await ch.assertQueue(DEAD_LETTER_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await ch.bindQueue(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, DEAD_LETTER_ROUTING_KEY);
  await ch.assertQueue(TASK_QUEUE, { durable: true, arguments: taskQueueArguments(opts) });
}
