import { createInterface } from 'node:readline/promises';
import { Flags } from '@oclif/core';
import { SentinelCommand } from '../cli/base-command.js';
import { UserError } from '../lib/errors.js';
import { renderTable } from '../lib/table.js';
import { applySetup, planSetup, type SetupPlan } from '../services/setup.js';

export interface SetupResult {
  platform: string;
  installed: string[];
  present: string[];
  commands: string[];
  dryRun: boolean;
}

export default class Setup extends SentinelCommand<SetupResult> {
  static override summary = 'Install what `up` needs: PostgreSQL 15, RabbitMQ, Redis, bubblewrap, g++.';
  static override description =
    `Checks for each program by its path and installs the missing ones with apt on Debian and Ubuntu. Services are kept from auto-starting during the install, so the system copies do not take the ports \`up\` uses. On other systems it lists exactly what to install. With --dev it also installs what the tests and benchmarks use (chromium, tmux, wrk).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %> --yes',
    '<%= config.bin %> <%= command.id %> --yes --dev',
  ];
  static override flags = {
    yes: Flags.boolean({ char: 'y', summary: 'Install without asking.' }),
    'dry-run': Flags.boolean({ summary: 'Print the plan and change nothing.', exclusive: ['yes'] }),
    dev: Flags.boolean({ summary: 'Also install test and benchmark tools (chromium, tmux, wrk).' }),
  };

  async run(): Promise<SetupResult> {
    const { flags } = await this.parse(Setup);
    const plan = planSetup({ dev: flags.dev });
    const result = (installed: string[], dryRun: boolean): SetupResult => ({
      platform: plan.platform.name,
      installed,
      present: plan.present.map((p) => p.what),
      commands: plan.commands,
      dryRun,
    });
    if (!this.jsonEnabled()) this.printPlan(plan);
    if (plan.missing.length === 0) return result([], flags['dry-run']);
    if (flags['dry-run']) return result([], true);
    if (!flags.yes) {
      if (!process.stdin.isTTY || this.jsonEnabled()) {
        throw new UserError('Refusing to install without confirmation.', {
          suggestion: 'Add --yes to install, or --dry-run to only see the plan.',
        });
      }
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await rl.question(`Install ${plan.packages.join(' ')}? [y/N] `);
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) return result([], true);
    }
    await applySetup(plan);
    this.note(`Installed ${plan.packages.join(', ')}. Next: \`${this.nextCommand('up')}\`.`);
    return result(plan.packages, false);
  }

  private printPlan(plan: SetupPlan): void {
    const rows = [
      ...plan.present.map((r) => [r.what, r.path, 'present']),
      ...plan.missing.map((r) => [r.what, r.path, `missing → apt ${r.aptPackage}`]),
    ];
    this.log(renderTable(['NEEDED', 'PATH', 'STATE'], rows));
    if (plan.missing.length === 0) {
      this.log('Everything `up` needs is installed.');
    } else if (plan.platform.apt) {
      this.log(`\nPlan (${plan.platform.name}):\n${plan.commands.map((c) => `  ${c}`).join('\n')}`);
    } else {
      this.log(
        `\n${plan.platform.name} has no apt: install the missing programs above with your package manager.`,
      );
    }
  }
}
