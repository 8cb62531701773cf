import { existsSync, readdirSync, readFileSync } from 'fs';
import { dirname, join } from 'path';

let packageRoot: string | undefined;

/** The folder holding this package's package.json, found from this file (works bundled in .build/, under ts-node and in jest). */
function findPackageRoot(): string {
  if (packageRoot) return packageRoot;
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find package.json above ${__dirname}`);
    dir = parent;
  }
  packageRoot = dir;
  return dir;
}

/**
 * Reads a file shipped with the package, by its path from the package root
 * (`lib/data/mysql/replication.sh`): the shell scripts that run inside containers live as real
 * files beside their construct, are tested as scripts, and are loaded here at synth time.
 */
export function readAsset(pathFromRoot: string): string {
  return readFileSync(join(findPackageRoot(), pathFromRoot), 'utf8');
}

/** Every `.sh` file of a folder shipped with the package, by file name, in name order. */
export function readShellAssets(folderFromRoot: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const file of readdirSync(join(findPackageRoot(), folderFromRoot)).filter((f) => f.endsWith('.sh')).sort()) {
    files[file] = readAsset(`${folderFromRoot}/${file}`);
  }
  return files;
}
