/**
 * What an environment's synth throws when validation finds problems: every policy violation (and
 * any other construct validation error) of every chart, one line each as `[<construct path>] <error>`.
 * Callers catch it by type (`instanceof PolicyViolationError`); the message keeps cdk8s' wording.
 */
export class PolicyViolationError extends Error {
  /**
   * @param errors - Every validation error of the App, one line each: `[<construct path>] <error>`
   * (a policy violation's error is its `Violation` line).
   */
  constructor(
    /** Every validation error of the App, one line each: `[<construct path>] <error>`. */
    public readonly errors: readonly string[],
  ) {
    super(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);
    this.name = 'PolicyViolationError';
  }
}
