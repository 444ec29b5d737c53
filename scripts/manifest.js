// Writes oclif.manifest.json so `--help` and command lookup do not import every command module
// (the same thing `oclif manifest` does, without pulling in the oclif release tooling).
import { renameSync, writeFileSync } from 'node:fs';
import { Config } from '@oclif/core';

const config = await Config.load({ root: new URL('..', import.meta.url).pathname, ignoreManifest: true });
const plugin = config.getPluginsList().find((p) => p.type === 'core');
const manifest = await plugin.manifest;
if (!manifest || Object.keys(manifest.commands).length === 0) {
  console.error('manifest: no commands found (is dist/ built?)');
  process.exit(1);
}
// Written beside and renamed, so a CLI running meanwhile never reads half a manifest.
const tmp = new URL(`../oclif.manifest.json.${process.pid}`, import.meta.url);
writeFileSync(tmp, JSON.stringify(manifest));
renameSync(tmp, new URL('../oclif.manifest.json', import.meta.url));
console.error(`manifest: ${Object.keys(manifest.commands).length} commands`);
