import { parseFaults } from '../../local/tasks/faults';

describe('a faults file', () => {
  it('gives a slow fault its own delay, or none (then the default)', () => {
    expect(
      parseFaults(
        JSON.stringify([
          { tenantId: 'a-shop', step: 'apply-schema', kind: 'slow', lateMs: 10_000 },
          { tenantId: 'b-shop', step: 'apply-schema', kind: 'slow' },
        ]),
      ),
    ).toEqual([
      { tenantId: 'a-shop', step: 'apply-schema', kind: 'slow', times: 1, lateMs: 10_000 },
      { tenantId: 'b-shop', step: 'apply-schema', kind: 'slow', times: 1 },
    ]);
  });

  it.each([
    [-1, 'faults[0].lateMs: must be positive'],
    [1.5, 'faults[0].lateMs: must be a whole number'],
    ['soon', 'faults[0].lateMs: must be a whole number'],
  ])('refuses lateMs %p, naming the field', (lateMs, message) => {
    expect(() =>
      parseFaults(JSON.stringify([{ tenantId: 'a-shop', step: 'apply-schema', kind: 'slow', lateMs }])),
    ).toThrow(message);
  });
});
