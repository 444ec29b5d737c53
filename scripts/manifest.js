// Writes oclif.manifest.json so `--help` and command lookup do not import every command module
// (the same thing `oclif manifest` does, without pulling in the oclif release tooling).
import { renameSync, writeFileSync } from 'node:fs';
import { Plugin } from '@oclif/core';

// A Plugin of its own, as `oclif manifest` builds it: Config.load() ignores ignoreManifest for the
// root plugin and would return the old manifest, so commands added since would never appear.
const plugin = new Plugin({
  root: new URL('..', import.meta.url).pathname,
  type: 'core',
  ignoreManifest: true,
  isRoot: true,
});
await plugin.load();
const manifest = plugin.manifest;
if (!manifest || Object.keys(manifest.commands).length === 0) {
  console.error('manifest: no commands found (is dist/ built?)');
  process.exit(1);
}
// Written beside and renamed, so a CLI running meanwhile never reads half a manifest.
const tmp = new URL(`../oclif.manifest.json.${process.pid}`, import.meta.url);
writeFileSync(tmp, JSON.stringify(manifest));
renameSync(tmp, new URL('../oclif.manifest.json', import.meta.url));
console.error(`manifest: ${Object.keys(manifest.commands).length} commands`);
