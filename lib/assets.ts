import { existsSync, readdirSync, readFileSync } from 'fs';
import { dirname, join } from 'path';

/** The name in this package's package.json: what a consumer installs and resolves. */
const PACKAGE_NAME = 'ai-platform-k8s';

let packageRoot: string | undefined;

function isPackageRoot(dir: string): boolean {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    return JSON.parse(readFileSync(manifest, 'utf8')).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/**
 * The folder holding this package's package.json, where the `.sh` assets sit under `lib/`: found
 * from this file upwards (this repository under ts-node, jest and the .build/ bundle; an installed
 * package, whose compiled code is in build/lib/), else resolved as an installed package (a
 * consumer's app bundled into one file, whose `__dirname` is the consumer's own folder).
 */
function findPackageRoot(): string {
  if (packageRoot) return packageRoot;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (isPackageRoot(dir)) return (packageRoot = dir);
    if (dirname(dir) === dir) break;
  }
  try {
    return (packageRoot = dirname(require.resolve(`${PACKAGE_NAME}/package.json`, { paths: [process.cwd(), __dirname] })));
  } catch {
    throw new Error(`cannot find the ${PACKAGE_NAME} package (its package.json) above ${__dirname} or from ${process.cwd()}: its shell scripts are read from there`);
  }
}

/** Asset texts by path, read once per process. */
const assetTexts = new Map<string, string>();

/**
 * Reads a file shipped with the package, by its path from the package root
 * (`lib/data/mysql/replication.sh`): the shell scripts that run inside containers live as real
 * files beside their construct, are tested as scripts, and are loaded here at synth time.
 */
export function readAsset(pathFromRoot: string): string {
  // Every environment of a synth reads the same scripts: each file is read once per process.
  let text = assetTexts.get(pathFromRoot);
  if (text === undefined) {
    text = readFileSync(join(findPackageRoot(), pathFromRoot), 'utf8');
    assetTexts.set(pathFromRoot, text);
  }
  return text;
}

/** Every `.sh` file of a folder shipped with the package, by file name, in name order. */
export function readShellAssets(folderFromRoot: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const file of readdirSync(join(findPackageRoot(), folderFromRoot)).filter((f) => f.endsWith('.sh')).sort()) {
    files[file] = readAsset(`${folderFromRoot}/${file}`);
  }
  return files;
}
