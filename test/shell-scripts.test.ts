/** Every shell script that runs inside a container passes shellcheck. */
import { readdirSync, statSync } from 'fs';
import { join, relative } from 'path';
import { describeWithBinaries, findBinary, run } from './support/real-servers';

const root = join(__dirname, '..');

function shellScripts(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return shellScripts(path);
    return entry.endsWith('.sh') ? [path] : [];
  });
}

const shellcheck = findBinary('shellcheck');
const scripts = shellScripts(join(root, 'lib'));

describeWithBinaries('shell scripts', { shellcheck }, 'shellcheck', () => {
  test('there are scripts to check', () => {
    expect(scripts.length).toBeGreaterThan(0);
  });

  test.each(scripts.map((s) => [relative(root, s)]))('%s passes shellcheck', (script) => {
    run(shellcheck!, ['--severity=style', '--external-sources', join(root, script)]);
  });
});
