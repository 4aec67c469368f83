/**
 * Definitions (docs/definitions.md): computed traits, segments, journeys and the policy, in the normalised form that
 * `validateDefinition` produces from a marketer's YAML/JSON document. The grammar is documented in
 * docs/definitions.md; every rule there is enforced in schema.ts.
 *
 * The normalised form is what the runtime stages (λ resolve, the admin API, λ journey) work with:
 * conditions have a `type` discriminant, durations are milliseconds (the text is kept next to them),
 * steps carry stable ids. `source` holds the document as written, to store and to show back.
 */

export type Scalar = string | number | boolean | null;

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** Comparison operators, in conditions and `where` filters. */
export const OPERATORS = ['gte', 'gt', 'lte', 'lt', 'eq', 'ne', 'in', 'prefix', 'exists'] as const;
export type Operator = (typeof OPERATORS)[number];

/** One comparison of a value. A leaf with several tests holds when all of them hold. */
export type Test =
  | { op: 'gte' | 'gt' | 'lte' | 'lt'; value: number | string }
  | { op: 'eq' | 'ne'; value: Scalar }
  | { op: 'in'; value: Scalar[] }
  | { op: 'prefix'; value: string }
  | { op: 'exists'; value: boolean };

/** `where: { properties.total: { gte: 500 } }`: the value at a dotted path passes every test. */
export interface PropertyFilter {
  /** Dotted path into the message, e.g. `properties.store_id`. */
  path: string;
  tests: Test[];
}

export type Condition =
  | { type: 'all'; of: Condition[] }
  | { type: 'any'; of: Condition[] }
  | { type: 'not'; of: Condition }
  /** A profile trait at a dotted path (`trait: address.city`). */
  | { type: 'trait'; path: string; tests: Test[] }
  /** A computed trait (defined, or built in: see BUILTIN_COMPUTED). */
  | { type: 'computed'; id: string; tests: Test[] }
  /** Has an identifier of this type; with tests, one whose value passes them all. */
  | { type: 'identifier'; idType: string; tests: Test[] }
  /** Consent granted on this channel. */
  | { type: 'consent'; channel: string }
  /** Member of another segment. */
  | { type: 'segment'; id: string }
  /** Performed an event: `count` tests (default `gte: 1`), optional rolling window or `since`. */
  | EventCondition;

export interface EventCondition {
  type: 'event';
  event: string;
  count: Test[];
  where: PropertyFilter[];
  /** Rolling window (`within: 60d`), in ms; absent = all time. */
  withinMs?: number;
  within?: string;
  /** `since: journey.start` (journeys only): events since the person entered the journey. */
  since?: 'journey.start';
}

export const AGGREGATES = ['count', 'sum', 'min', 'max', 'first', 'last'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

/** Where a definition came from, for error messages. `index` is the 0-based position in the file. */
export interface Origin {
  file: string;
  index: number;
}

interface Base {
  id: string;
  name?: string;
  description?: string;
  /** The document as written (JSON), to store and show back. */
  source: JsonObject;
  origin: Origin;
}

export interface ComputedTraitDef extends Base {
  kind: 'computedTrait';
  /** Track event name; absent = every message of every type. */
  event?: string;
  aggregate: Aggregate;
  /** Dotted path of the aggregated value in the message (all but count). */
  property?: string;
  window?: string;
  windowMs?: number;
  where: PropertyFilter[];
}

export interface SegmentDef extends Base {
  kind: 'segment';
  where: Condition;
}

export type Trigger = { type: 'event'; event: string; where: PropertyFilter[] } | { type: 'segment'; segment: string; on: 'entered' | 'exited' };

export type JourneyExit =
  /** Leave the journey the moment the person performs this event. */
  | { type: 'event'; event: string; where: PropertyFilter[] }
  /** Leave the journey when this condition holds (checked before every step). */
  | { type: 'condition'; condition: Condition };

interface StepBase {
  /** Declared (`id: coupon`) or derived (`step-1`, `step-3.then-1`): stable while the document is unchanged. */
  id: string;
  /** True when the id was written in the document. */
  declaredId: boolean;
}

/**
 * `transactional: true` on an email or SMS step: a message the person expects (an order confirmation),
 * exempt from the policy's caps and quiet hours (never its consent rules), and not counted in the caps.
 */
export type ActionStep =
  | (StepBase & { type: 'action'; action: 'email'; subject: string; body: string; to?: string; from?: string; consent?: string; transactional?: true })
  | (StepBase & { type: 'action'; action: 'sms'; text: string; to?: string; consent?: string; transactional?: true })
  | (StepBase & {
      type: 'action';
      action: 'webhook';
      url: string;
      method: 'POST' | 'PUT' | 'PATCH' | 'GET' | 'DELETE';
      body?: Json;
      headers?: Record<string, string>;
    })
  | (StepBase & { type: 'action'; action: 'traits'; set?: JsonObject; unset?: string[] })
  | (StepBase & { type: 'action'; action: 'event'; name: string; properties?: JsonObject })
  /** Issues the run a code of the pool (docs/journeys.md#coupons), written on the profile as trait `trait`. */
  | (StepBase & { type: 'action'; action: 'coupon'; pool: string; trait: string });

export type ActionKind = ActionStep['action'];
export const ACTIONS = ['email', 'sms', 'webhook', 'traits', 'event', 'coupon'] as const satisfies readonly ActionKind[];

export type Step =
  | ActionStep
  | (StepBase & { type: 'wait'; ms: number; duration: string })
  | (StepBase & {
      type: 'waitUntil';
      event: string;
      where: PropertyFilter[];
      timeoutMs: number;
      timeout: string;
      onTimeout: 'continue' | 'exit';
    })
  | (StepBase & { type: 'branch'; if: Condition; then: Step[]; else: Step[] })
  | (StepBase & { type: 'exit' });

export interface JourneyDef extends Base {
  kind: 'journey';
  name: string;
  /** `enabled: false` keeps the journey defined but stops new entries. */
  enabled: boolean;
  trigger: Trigger;
  audience?: Condition;
  /** The consent channel checked before any email/SMS; null when the document says `consent: none`. */
  consent: string | null;
  frequency?: { max: number; per: string; perMs: number };
  exit?: JourneyExit;
  /** Percentage (0 ≤ p < 100) of entrants held out (no actions), for reporting. */
  holdout: number;
  steps: Step[];
  /** Its messages' priority under the policy's caps (docs/journeys.md#governance); absent: `normal`. */
  priority?: Priority;
  /**
   * `migrate: {from, map}`: applying this document moves the waiting runs of version `from` onto the new
   * version, each at its wait step's image under `map` (a step id absent from `map` keeps its id).
   * Checked against the stored versions when applied (docs/journeys.md#versions).
   */
  migrate?: JourneyMigrate;
}

export interface JourneyMigrate {
  from: number;
  /** Wait step of version `from` → wait step of this document. */
  map: Record<string, string>;
}

/** Journey priorities, lowest first. */
export const PRIORITIES = ['low', 'normal', 'high'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The channels a policy governs: the messages that reach a person (webhooks, traits and events do not). */
export const GOVERNED_CHANNELS = ['email', 'sms'] as const;
export type GovernedChannel = (typeof GOVERNED_CHANNELS)[number];

/** Days of the week as documents write them; index = JavaScript's `getUTCDay()` (0 = Sunday). */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** `cap: { max, per, reserve? }`: at most `max` messages per person in any rolling `per`, across every journey. */
export interface ChannelCap {
  max: number;
  per: string;
  perMs: number;
  /** Slots only journeys of at least this priority may use: `high: 1` keeps the last slot for `high`. */
  reserve: { normal: number; high: number };
}

/** Local times of day as minutes since midnight; `from` ≠ `to`, and the hours may cross midnight. */
export interface QuietHours {
  from: number;
  to: number;
}

export interface ChannelPolicy {
  cap?: ChannelCap;
  /** No message goes out from `from` to `to`, the person's local time: it waits for `to`. */
  quietHours?: QuietHours;
  /** Days a message may go out (0 = Sunday); absent: every day. */
  days?: number[];
}

/** The deployment's policy across journeys (docs/journeys.md#governance): one document, id `default`. */
export interface PolicyDef extends Base {
  kind: 'policy';
  /** IANA time zone of people whose own is unknown. */
  timezone: string;
  channels: Partial<Record<GovernedChannel, ChannelPolicy>>;
}

export type Definition = ComputedTraitDef | SegmentDef | JourneyDef | PolicyDef;
export type DefinitionKind = Definition['kind'];
export const KINDS = ['computedTrait', 'segment', 'journey', 'policy'] as const satisfies readonly DefinitionKind[];

/**
 * Computed traits every profile has without a definition (shared/identity/view.ts `PublicComputed`);
 * conditions and templates may use them, definitions may not reuse their ids.
 */
export const BUILTIN_COMPUTED = [
  'first_seen',
  'last_seen',
  'event_count',
  'order_count',
  'revenue',
  'last_channel',
  // Written back daily by λ scores (shared/scores, docs/reports.md): absent until the first run.
  'rfm_group',
  'rfm_recency',
  'rfm_frequency',
  'rfm_monetary',
  'lifecycle_stage',
  'last_order_at',
] as const;

/** `{{ journey.<field> }}` fields. */
export const JOURNEY_TEMPLATE_FIELDS = ['id', 'name', 'start', 'step'] as const;
/** `{{ profile.<field> }}` fields. */
export const PROFILE_TEMPLATE_FIELDS = ['id'] as const;
/** `{{ coupon.<field> }}` fields: the code the run's coupon step issued, and its pool. */
export const COUPON_TEMPLATE_FIELDS = ['code', 'pool'] as const;
/** Template roots. */
export const TEMPLATE_ROOTS = ['traits', 'computed', 'event', 'journey', 'profile', 'coupon'] as const;

/**
 * First segments a path into a message may start with (`where` filters, computed `property`,
 * `{{ event.<path> }}`): the fields of the normalised message. Journey triggers may also use `profile`
 * (the bus event's profile snapshot).
 */
export const MESSAGE_ROOTS = [
  'properties',
  'traits',
  'context',
  'event',
  'type',
  'name',
  'category',
  'userId',
  'anonymousId',
  'groupId',
  'messageId',
  'timestamp',
  'receivedAt',
  'sourceId',
] as const;
