import { SentinelCommand } from '../../cli/base-command.js';
import { type ConfigShowResult, describeConfig } from '../../config/show.js';
import { renderTable } from '../../lib/table.js';

export type { ConfigShowResult };

export default class ConfigShow extends SentinelCommand<ConfigShowResult> {
  static override summary = 'Print the effective configuration and where each value came from.';
  static override description =
    `Values are merged in this order, later ones winning: built-in defaults (from the guides), the profile (dev, staging, prod), the config file, environment variables (DATABASE_URL, API_PORT, WORKER_POOL_SIZE, ...), then flags. Ports are shown with --port-offset applied. Passwords, and the passwords inside URLs, are masked.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --profile prod --json',
    'WORKER_POOL_SIZE=8 <%= config.bin %> <%= command.id %> --port-offset 10000',
  ];

  async run(): Promise<ConfigShowResult> {
    const { flags } = await this.parse(ConfigShow);
    const result = describeConfig(this.loadConfig(flags));
    if (!this.jsonEnabled()) {
      this.log(`config file: ${result.file ?? '(none; defaults apply)'}   profile: ${result.profile}`);
      this.log(
        renderTable(
          ['KEY', 'VALUE', 'SOURCE'],
          result.entries.map((e) => [e.key, fmt(e.value), e.source]),
        ),
      );
    }
    return result;
  }
}

function fmt(value: unknown): string {
  return Array.isArray(value) ? value.join(' ') : String(value);
}
