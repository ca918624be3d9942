import {
  classifyError,
  OnboardingError,
  PERMANENT_ERROR_NAMES,
  TRANSIENT_ERROR_NAMES,
} from '../../common/errors';

describe('classifyError', () => {
  const cases: [string, unknown, string][] = [
    [
      'SDK throttling',
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
      'Throttled',
    ],
    [
      'HTTP 429',
      Object.assign(new Error('slow down'), { name: 'X', $metadata: { httpStatusCode: 429 } }),
      'Throttled',
    ],
    [
      'a 5xx',
      Object.assign(new Error('oops'), { name: 'InternalFailure', $fault: 'server' }),
      'ServiceUnavailable',
    ],
    [
      'a connection reset',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'ConnectionFailed',
    ],
    [
      'a refused connection',
      Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      'ConnectionFailed',
    ],
    ['a dropped PostgreSQL connection', new Error('Connection terminated unexpectedly'), 'ConnectionFailed'],
    [
      'a PostgreSQL connect timeout',
      new Error('timeout exceeded when trying to connect'),
      'ConnectionFailed',
    ],
    [
      'PostgreSQL starting up',
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      'DatabaseBusy',
    ],
    ['too many connections', Object.assign(new Error('too many clients'), { code: '53300' }), 'DatabaseBusy'],
    [
      'a serialization failure',
      Object.assign(new Error('could not serialize'), { code: '40001' }),
      'DatabaseBusy',
    ],
    ['a plain bug', new TypeError('x is undefined'), 'StepFailed'],
    ['a thrown string', 'boom', 'StepFailed'],
  ];

  it.each(cases)('names %s', (_, error, name) => {
    const classified = classifyError(error);
    expect(classified.name).toBe(name);
    expect(classified.cause).toBe(error);
  });

  it('keeps an error that already has a contract name', () => {
    const error = new OnboardingError('TenantAlreadyRegistered', 'taken');
    expect(classifyError(error)).toBe(error);
  });

  it('keeps the transient and permanent lists disjoint', () => {
    const overlap = TRANSIENT_ERROR_NAMES.filter((n) =>
      (PERMANENT_ERROR_NAMES as readonly string[]).includes(n),
    );
    expect(overlap).toEqual([]);
  });
});
