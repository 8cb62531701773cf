/** Kubernetes quantities as numbers (lib/quantity.ts): CPU in cores, memory and storage in bytes. */
import { parseQuantity } from '../lib/quantity';

describe('parseQuantity', () => {
  test.each([
    ['500m', 0.5],
    ['250m', 0.25],
    ['1m', 0.001],
    ['2', 2],
    ['0.5', 0.5],
    ['1.5', 1.5],
    ['0', 0],
    ['1k', 1e3],
    ['1M', 1e6],
    ['1G', 1e9],
    ['2T', 2e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1Ki', 1024],
    ['512Mi', 512 * 2 ** 20],
    ['2Gi', 2147483648],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['100Gi', 100 * 2 ** 30],
    ['1Ti', 2 ** 40],
    ['1Pi', 2 ** 50],
    ['1Ei', 2 ** 60],
    ['128974848', 128974848],
  ])('%s is %d', (quantity, expected) => {
    expect(parseQuantity(quantity)).toBe(expected);
  });

  test.each([
    '', '-1', '-500m', '1GB', '2 cores', ' 2', '2 ', '1e3', 'Gi', '1.', '.5Gi', '1gi', '1mi', '500M m', '1Gi1', 'abc',
  ])('%j is not a quantity (NaN)', (quantity) => {
    expect(parseQuantity(quantity)).toBeNaN();
  });

  test('binary and decimal units compare as Kubernetes compares them', () => {
    expect(parseQuantity('1024Mi')).toBe(parseQuantity('1Gi'));
    expect(parseQuantity('1Gi')).toBeGreaterThan(parseQuantity('1G'));
    expect(parseQuantity('1000m')).toBe(parseQuantity('1'));
    expect(parseQuantity('1500m')).toBe(parseQuantity('1.5'));
    expect(parseQuantity('1Mi')).toBeLessThan(parseQuantity('1.1M'));
  });
});

describe('parseQuantity is exact for millicores', () => {
  test.each([
    ['700m', 0.7],
    ['9m', 0.009],
    ['13m', 0.013],
    ['51m', 0.051],
  ])('%s is exactly %d', (quantity, expected) => {
    expect(parseQuantity(quantity)).toBe(expected);
  });

  test('every whole number of millicores from 1m to 9999m equals its decimal spelling', () => {
    const wrong: string[] = [];
    for (let milli = 1; milli < 10000; milli++) {
      const decimal = (milli / 1000).toString();
      if (parseQuantity(`${milli}m`) !== parseQuantity(decimal)) wrong.push(`${milli}m != ${decimal}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
