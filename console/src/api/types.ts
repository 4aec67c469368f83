/** What the admin API answers (docs/api.md#admin-api), as the console reads it. */
import type { Identifier, MergeEntry } from '#shared/identity';

export type { Identifier };

export interface SearchMatch {
  profileId: string;
  matchedBy: string[];
  erased?: true;
  identities?: Identifier[];
  traits?: Record<string, unknown>;
  createdAt?: string;
  updatedAt?: string;
}
export interface SearchAnswer {
  query: string;
  searched: string[];
  matches: SearchMatch[];
}

export interface ApiProfile {
  profileId: string;
  identities: Identifier[];
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
  segments: string[];
  consent: Record<string, { granted: boolean; timestamp: string; source: string }>;
  mergedFrom: string[];
  groups: string[];
  createdAt: string;
  updatedAt: string;
}

export interface MergeView {
  profileId: string;
  direct: boolean;
  mergedInto: string | null;
  identities: Identifier[];
  merge: MergeEntry | null;
}

export interface JourneyRunView {
  journeyId: string;
  profileId: string;
  status: string;
  startedAt: string | null;
  endedAt: string | null;
  reason: string | null;
  waitingAt: string | null;
  nextActionAt: string | null;
  entries: number;
}

export interface TimelineEvent {
  messageId: string;
  type: string;
  event?: string;
  name?: string;
  timestamp: string;
  receivedAt: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  sourceId?: string;
  truncated?: boolean;
}
export interface EventsPage {
  profileId: string;
  events: TimelineEvent[];
  next: string | null;
}

export interface DefinitionView<D = Record<string, unknown>> {
  kind: string;
  id: string;
  version: number;
  updatedAt: string;
  definition: D;
}

export interface MembersPage {
  segment: string;
  members: { profileId: string; since: string }[];
  next: string | null;
}

export interface PreviewPage {
  segment: string;
  at: string;
  scanned: number;
  matched: number;
  sample: string[];
  cursor: string | null;
  startsEmpty: { event: string; withinMs?: number }[];
}
