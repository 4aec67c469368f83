/**
 * `journey.simulate_events_per_s`: how fast a journey simulation (docs/journeys.md#simulation) replays
 * history — lake rows (as the engine returns them: JSON as text) read into the history, then every
 * event routed through the journey's rules and λ journey's own shell and machine with a simulated
 * clock and memory stores, waits fired at their times, the policy on (an email cap, SMS quiet hours).
 * The figure is history events per second of that work (and the CPU time it took per event, which
 * the machine's other work changes less); the lake query itself (DuckDB or Athena) is not in it. The history: `people` customers, each identified with consent a day before, viewing a
 * product (the trigger), some twice, some updating their cart or ordering (exit) within the hour.
 */
import { parseDefinitions, type JourneyDef, type PolicyDef } from '#shared/definitions';
import { toProfileRow, type ProfileRecord } from '#shared/identity';
import { toEventRow } from '#shared/lake';
import type { NormalizedMessage } from '#shared/message';
import { asApplied, simulateFromLake, type LakeQuery } from '#shared/journeys';
import { mulberry32 } from '#shared/random';
import type { Result } from './result';

const MIN = 60_000;
const DAY = 86_400_000;

const [JOURNEY, POLICY] = parseDefinitions(
  `
- kind: journey
  id: browse
  consent: email
  audience: { trait: country, eq: FR }
  frequency: { max: 1, per: 1d }
  exit: { event: Order Completed }
  trigger: { event: Product Viewed }
  steps:
    - { id: offer, action: email, subject: "{{ traits.firstName }}, still thinking?", body: "The {{ event.properties.sku }} is waiting." }
    - { id: pause, wait: 1h }
    - id: check
      if: { event: Cart Updated, since: journey.start }
      then: [{ id: nudge, action: sms, consent: sms, text: "Your cart, {{ traits.firstName }}" }]
- kind: policy
  id: default
  timezone: Europe/Paris
  channels:
    email: { cap: { max: 3, per: 7d } }
    sms: { quietHours: { from: "21:00", to: "09:00" } }
`,
  'bench.yaml',
) as [JourneyDef, PolicyDef];

export async function benchSimulate(people: number): Promise<Result[]> {
  const rnd = mulberry32(42);
  const t0 = Date.parse('2025-06-01T00:00:00Z');
  const events: Record<string, unknown>[] = [];
  const profiles: Record<string, unknown>[] = [];
  for (let i = 0; i < people; i++) {
    const userId = `u${i}`;
    const at = new Date(t0 - DAY).toISOString();
    const p: ProfileRecord = {
      profileId: `p${i}`,
      version: 1,
      createdAt: at,
      updatedAt: at,
      identities: [{ type: 'user_id', value: userId }],
      traits: { firstName: `Name${i}`, country: rnd() < 0.8 ? 'FR' : 'DE', email: `u${i}@example.com`, phone: '+33612345678' },
      traitK: {},
      computed: { first_seen: at, last_seen: at, event_count: 1, order_count: 0, revenue_e4: 0, last_channel: null, last_channel_k: null },
      consent: {
        email: { granted: rnd() < 0.9, timestamp: at, source: 'context.consent', k: at },
        sms: { granted: true, timestamp: at, source: 'context.consent', k: at },
      },
      groups: [],
      mergedFrom: [],
      dd: { s: {}, r: [] },
    };
    profiles.push(toProfileRow(p, at) as unknown as Record<string, unknown>);
    const start = t0 + Math.floor(rnd() * 20 * DAY);
    const track = (event: string, ms: number, properties: Record<string, unknown> = {}) => {
      const m: NormalizedMessage = {
        messageId: `m${i}-${events.length}`,
        type: 'track',
        userId,
        event,
        properties: properties as NormalizedMessage['properties'],
        traits: {},
        context: {},
        timestamp: new Date(ms).toISOString(),
        receivedAt: new Date(ms + 150).toISOString(),
        sourceId: 'web',
      };
      events.push(toEventRow(m) as unknown as Record<string, unknown>);
    };
    track('Product Viewed', start, { sku: `SKU-${i % 50}` });
    if (rnd() < 0.3) track('Product Viewed', start + 5 * MIN, { sku: 'SKU-again' });
    if (rnd() < 0.4) track('Cart Updated', start + 10 * MIN);
    if (rnd() < 0.2) track('Order Completed', start + 30 * MIN);
  }
  events.sort((a, b) => String(a.received_at).localeCompare(String(b.received_at)));
  const table = (rows: Record<string, unknown>[]) => {
    const columns = Object.keys(rows[0] ?? {}).map((name) => ({ name }));
    return { columns, rows: rows.map((r) => columns.map((c) => r[c.name] ?? null)) };
  };
  const query: LakeQuery = async (sql) => (/FROM events/.test(sql) ? table(events) : /FROM profiles/.test(sql) ? table(profiles) : table([]));
  const started = performance.now();
  const cpu = process.cpuUsage();
  const r = await simulateFromLake({ journey: asApplied(JOURNEY), policy: POLICY, query, since: t0, until: t0 + 22 * DAY, sample: 0 });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (r.stats.entered === 0) throw new Error('the simulation entered nobody: the benchmark history is wrong');
  return [
    { name: 'journey.simulate_events_per_s', value: Math.round(events.length / seconds), unit: 'events/s' },
    // CPU time (user + system) per event: what the machine's other work does not change much.
    { name: 'journey.simulate_cpu_us_per_event', value: Math.round((used.user + used.system) / events.length), unit: 'µs/event' },
    { name: 'journey.simulate_events', value: events.length, unit: 'events' },
  ];
}
