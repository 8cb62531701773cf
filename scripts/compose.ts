/**
 * Writes a docker compose stack for local development from one environment's configuration:
 *
 *   npm run compose -- <solution> [--env <environment>] [--out <file>]
 *
 * The environment defaults to `dev`, the file to `docker-compose.yml` (npm runs scripts from the
 * repository root). `.env.example` is written beside it: copy it to `.env` there (gitignored) and
 * fill in the secrets, then `docker compose -f <file> up -d`. See lib/ops/compose/compose-file.ts
 * for what the stack holds.
 *
 * Exit codes: 0 written, 1 the configuration cannot be synthesized or run locally (problems
 * printed), 2 bad arguments.
 */
import { writeFileSync } from 'fs';
import { dirname, join, resolve } from 'path';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_ARGUMENTS = 2;
export const USAGE = 'usage: npm run compose -- <solution> [--env <environment, default dev>] [--out <file, default docker-compose.yml>]';

/** A command line that cannot be run; exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ComposeArguments {
  readonly solution: string;
  /** @default 'dev' */
  readonly environment: string;
  /** @default 'docker-compose.yml' */
  readonly out: string;
}

/** @throws UsageError for a missing or extra argument, an unknown flag, or a solution or environment that is not configured */
export function parseArguments(argv: readonly string[], environmentsBySolution: ReadonlyMap<string, readonly string[]>): ComposeArguments {
  const positional: string[] = [];
  let environment = 'dev';
  let out = 'docker-compose.yml';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--env') environment = value();
    else if (flag === '--out') out = value();
    else if (flag.startsWith('-')) throw new UsageError(`unknown option ${flag}`);
    else positional.push(arg);
  }
  if (positional.length !== 1) throw new UsageError(`expected one <solution> but ${positional.length} were given`);
  const [solution] = positional;
  const environments = environmentsBySolution.get(solution);
  if (!environments) throw new UsageError(`unknown solution ${JSON.stringify(solution)}: the solutions are ${[...environmentsBySolution.keys()].join(', ')}`);
  if (!environments.includes(environment)) throw new UsageError(`unknown environment ${JSON.stringify(environment)} of ${solution}: its environments are ${environments.join(', ')}`);
  return { solution, environment, out };
}

/** Runs the command; returns its exit code. */
export async function main(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { SOLUTIONS } = await import('../lib/solutions');
  const { environmentsOf } = await import('../lib/config/solution-definition');
  const { composeProject, environmentObjects } = await import('../lib/ops/compose');
  const { ConfigError } = await import('../lib/validation');
  const { PolicyViolationError } = await import('../lib/policy/policy-violation-error');
  let args: ComposeArguments;
  try {
    args = parseArguments(argv, new Map(SOLUTIONS.map((s) => [s.definition.name, environmentsOf(s.definition)])));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err.write(`compose: ${error.message}\n${USAGE}\n`);
    return EXIT_BAD_ARGUMENTS;
  }
  const solution = SOLUTIONS.find((s) => s.definition.name === args.solution)!;
  try {
    const project = composeProject({ solution: args.solution, environment: args.environment, objects: environmentObjects(solution, args.environment) });
    const file = resolve(args.out);
    const example = join(dirname(file), '.env.example');
    writeFileSync(file, project.yaml);
    writeFileSync(example, project.envExample);
    out.write([
      `wrote ${file}: ${Object.keys(project.document.services).length} services (${Object.keys(project.document.services).join(', ')})`,
      `wrote ${example}: ${project.secrets.length} variables`,
      `next: cp ${example} ${join(dirname(file), '.env')}, fill in every value, then docker compose -f ${file} up -d`,
      '',
    ].join('\n'));
    return EXIT_OK;
  } catch (error) {
    if (error instanceof ConfigError) err.write(`compose: ${error.problems.join('\n')}\n`);
    else if (error instanceof PolicyViolationError) err.write(`compose: ${error.errors.join('\n')}\n`);
    else throw error;
    return EXIT_FAILED;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.stdout, process.stderr).then(
    (code) => { process.exitCode = code; },
    (error) => { process.stderr.write(`compose: ${error instanceof Error ? error.stack : String(error)}\n`); process.exitCode = EXIT_FAILED; },
  );
}
