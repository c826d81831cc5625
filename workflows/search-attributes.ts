import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The custom search attributes, declared once: workflows upsert them, core/ writes them at
 * start and reads them back, scripts/ registers them on the dev server and in test set-up
 * (`--search-attribute`), and the docker-compose `temporal-setup` step lists the same (a test
 * checks). Workflow-safe: it imports only @temporalio/common. No PII goes here: only opaque ids
 * and type names.
 */
export const OperatorId = defineSearchAttributeKey('OperatorId', SearchAttributeType.KEYWORD);
export const EntityExternalId = defineSearchAttributeKey('EntityExternalId', SearchAttributeType.KEYWORD);
export const EventType = defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD);
export const InternalEvent = defineSearchAttributeKey('InternalEvent', SearchAttributeType.KEYWORD);
/** The event's plan: every definition its workflow runs, fixed at start. */
export const Definitions = defineSearchAttributeKey('Definitions', SearchAttributeType.KEYWORD_LIST);
/** Upserted only when a definition gives up: `FailedDefinitions = 'kyc-on-deposit'` finds them. */
export const FailedDefinitions = defineSearchAttributeKey(
  'FailedDefinitions',
  SearchAttributeType.KEYWORD_LIST,
);

/** The definitions of a workflow that wait now (upserted when a wait opens and when it closes). */
export const WaitingFor = defineSearchAttributeKey('WaitingFor', SearchAttributeType.KEYWORD_LIST);
/** The nearest deadline of its open waits: `WaitDeadline < '…'` finds those past it. */
export const WaitDeadline = defineSearchAttributeKey('WaitDeadline', SearchAttributeType.DATETIME);

const ALL = [
  OperatorId,
  EntityExternalId,
  EventType,
  InternalEvent,
  Definitions,
  FailedDefinitions,
  WaitingFor,
  WaitDeadline,
] as const;

const CLI_TYPE = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
  [SearchAttributeType.DATETIME]: 'Datetime',
} as const;

/** name → CLI type, as `temporal server start-dev --search-attribute NAME=Keyword` expects. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'KeywordList' | 'Datetime'> = Object.fromEntries(
  ALL.map((key) => [key.name, CLI_TYPE[key.type]]),
);
