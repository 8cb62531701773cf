/** The cron reader behind the backup schedule checks (lib/backup/cron-schedule.ts). */
import { CronScheduleError, firstCommonStart, longestGapMinutes, parseCron, startMinutes } from '../../lib/backup/cron-schedule';

const gapHours = (expression: string) => longestGapMinutes(startMinutes(parseCron(expression))) / 60;

describe('cron schedules', () => {
  test.each([
    ['15 * * * *', 1],
    ['0 1 * * *', 24],
    ['0 */6 * * *', 6],
    ['0 1,13 * * *', 12],
    ['0 1 * * 1-5', 72],
    ['30 3 * * 0', 168],
    ['30 3 * * 7', 168],
    ['30 5 2 * *', 31 * 24],
    ['0 0 31 * *', 61 * 24], // 31 March to 31 May
  ])('%s: the longest gap is %ih', (expression, hours) => {
    expect(gapHours(expression)).toBe(hours);
  });

  test('day of month and day of week both restricted: either matches, as cron reads it', () => {
    // The 1st of each month or any Monday: never more than a week apart.
    expect(gapHours('0 0 1 * 1')).toBeLessThanOrEqual(7 * 24);
  });

  test('a schedule that can never run has no gap to speak of', () => {
    expect(gapHours('0 0 30 2 *')).toBe(Number.POSITIVE_INFINITY);
  });

  test('schedules that start in the same minute are found, different minutes are not', () => {
    const starts = (e: string) => startMinutes(parseCron(e));
    expect(firstCommonStart(starts('0 1 * * *'), starts('0 * * * *'))).toBe(60);
    expect(firstCommonStart(starts('0 * * * *'), starts('30 2 * * 2'))).toBeUndefined();
    expect(firstCommonStart(starts('0 * * * *'), starts('0 2 * * 2'))).toBe(1440 + 120);
    expect(firstCommonStart(starts('0 1 * * *'), starts('15 * * * *'))).toBeUndefined();
    expect(firstCommonStart(starts('30 3 * * 0'), starts('30 3 * * 6'))).toBeUndefined();
  });

  test.each([
    ['0 1 * *', /five fields .* 4 were given/],
    ['60 1 * * *', /the minute field "60" is outside 0-59/],
    ['0 1 0 * *', /the day of month field "0" is outside 1-31/],
    ['0 1 * * MON', /the day of week field "MON" is not a number/],
    ['0 5-1 * * *', /the hour field "5-1" is outside 0-23/],
    ['*/0 * * * *', /outside/],
  ])('%s is refused: %s', (expression, message) => {
    expect(() => parseCron(expression)).toThrow(CronScheduleError);
    expect(() => parseCron(expression)).toThrow(message);
  });
});
