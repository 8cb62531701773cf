/**
 * The README's synth commands as a user runs them, in a copy of the repository: `npm run synth` and
 * `cdk8s synth` both say what they wrote, and neither touches dist/ when the configuration is bad.
 */
import { RepoCopy } from './support/repo-copy';
import { readTree } from './support/manifests';
import { join } from 'path';

describe('synth entry points', () => {
  let repo: RepoCopy;
  beforeAll(() => {
    repo = RepoCopy.create('entry-points');
  });
  afterAll(() => repo.remove());

  test('npm run synth and cdk8s synth write dist/ and say what they wrote', () => {
    for (const [command, args] of [['npm', ['run', '-s', 'synth']], ['npx', ['cdk8s', 'synth']]] as const) {
      const result = repo.run(command, [...args]);
      expect(result.status).toBe(0);
      expect(result.stderr).toMatch(/^wrote dist\/logistics\/prod: \d+ files, \d+ objects$/m);
      expect(result.stderr).toMatch(/^wrote dist\/real-estate\/dev: \d+ files, \d+ objects$/m);
    }
  });

  test('a bad value stops both entry points and leaves dist/ exactly as it was', () => {
    const before = readTree(join(repo.dir, 'dist'));
    repo.edit('lib/config/logistics.ts', /tag: RELEASE/, "tag: 'latest'");
    for (const [command, args] of [['npm', ['run', '-s', 'synth']], ['npx', ['cdk8s', 'synth']]] as const) {
      const result = repo.run(command, [...args]);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/synth failed: .*\n.*logistics\/\w+: [\w.-]+\.tag must be a semantic version/);
      expect(result.stderr).toContain('dist/ was left unchanged');
      expect(readTree(join(repo.dir, 'dist'))).toEqual(before);
    }
  });
});
