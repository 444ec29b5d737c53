// Writes oclif.manifest.json so `--help` and command lookup do not import every command module
// (the same thing `oclif manifest` does, without pulling in the oclif release tooling).
import { writeFileSync } from 'node:fs';
import { Config } from '@oclif/core';

const config = await Config.load({ root: new URL('..', import.meta.url).pathname });
const plugin = config.getPluginsList().find((p) => p.type === 'core');
const manifest = await plugin.manifest;
if (!manifest || Object.keys(manifest.commands).length === 0) {
  console.error('manifest: no commands found (is dist/ built?)');
  process.exit(1);
}
writeFileSync(new URL('../oclif.manifest.json', import.meta.url), JSON.stringify(manifest));
console.error(`manifest: ${Object.keys(manifest.commands).length} commands`);
