import { STEPS } from '../../common/steps';
import type { Fault } from '../../local/tasks/faults';
import type { LocalPlatform } from '../../local/platform';
import { everythingOf, footprint, nothingOf, startTestPlatform, tenantInput } from '../fixtures/platform';

// CHAOS_SEED=<n> replays a run; the seed is in the test's name, so a failure prints it.
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000_007);
const TENANTS = 20;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed exactly. */
function prng(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

interface Plan {
  readonly tenantId: string;
  readonly domain?: string;
  readonly faults: Fault[];
}

// Forward steps get any kind of fault; undos get transient ones, which their retries absorb. (An undo that
// fails for good is ROLLBACK_FAILED by design: that case has its own test.)
const plans: Plan[] = Array.from({ length: TENANTS }, (_, i) => {
  const tenantId = `chaos-${i}`;
  const domain = random() < 0.5 ? `${tenantId}.example.com` : undefined;
  const faults: Fault[] = [];
  if (random() < 0.75) {
    const kind = pick(['transient', 'permanent', 'after-effect', 'timeout'] as const);
    faults.push({
      tenantId,
      step: pick(STEPS).id,
      kind,
      times: kind === 'transient' ? 1 + Math.floor(random() * 2) : 1,
    });
  }
  if (random() < 0.4) {
    const undoable = STEPS.filter((s) => s.undoStateName);
    faults.push({
      tenantId,
      step: `undo:${pick(undoable).id}`,
      kind: 'transient',
      times: 1 + Math.floor(random() * 2),
    });
  }
  return { tenantId, domain, faults };
});

let platform: LocalPlatform;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({
    faults: plans.flatMap((p) => p.faults),
    maxTaskTimeoutSeconds: 10,
  }));
});

afterAll(async () => {
  await cleanup();
});

describe('20 tenants onboarded at once with random faults', () => {
  it(`leaves every tenant either fully ACTIVE or entirely absent (seed ${seed})`, async () => {
    const records = await Promise.all(
      plans.map((p) => platform.runExecution(tenantInput(p.tenantId, p.domain ? { domain: p.domain } : {}))),
    );
    const outcomes = await Promise.all(
      plans.map(async (plan, i) => {
        const record = records[i]!;
        const found = await footprint(platform, plan.tenantId, plan.domain);
        const validated = !plan.faults.some((f) => f.step === 'validate-input' && f.kind !== 'transient');
        const expected =
          record.status === 'SUCCEEDED'
            ? everythingOf(Boolean(plan.domain), plan.tenantId)
            : nothingOf(validated ? 'ROLLED_BACK' : undefined);
        const context = {
          seed,
          tenantId: plan.tenantId,
          faults: plan.faults,
          status: record.status,
          error: record.error,
        };
        return { context, found, expected };
      }),
    );
    // Each side carries the seed and the faults, so a failure shows how to replay it.
    expect(outcomes.map((o) => ({ ...o.context, footprint: o.found }))).toEqual(
      outcomes.map((o) => ({ ...o.context, footprint: o.expected })),
    );
    // A tenant without a fault that fails for good must succeed.
    const clean = outcomes.map((o) => o.context).filter((c) => !c.faults.some((f) => f.kind !== 'transient'));
    expect(clean.map((c) => [c.seed, c.tenantId, c.status])).toEqual(
      clean.map((c) => [c.seed, c.tenantId, 'SUCCEEDED']),
    );
  });
});
