import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes that make fan-out workflows findable in the Temporal UI.
 * No PII goes here: only opaque ids and type names.
 * Registered on the dev server at start (`--search-attribute`), in test set-up, and by
 * the docker-compose `temporal-setup` step; keep the three in sync through this list.
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

/** name → CLI type, as `temporal server start-dev --search-attribute NAME=Keyword` expects. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'KeywordList' | 'Datetime'> = {
  OperatorId: 'Keyword',
  EntityExternalId: 'Keyword',
  EventType: 'Keyword',
  InternalEvent: 'Keyword',
  Definitions: 'KeywordList',
  FailedDefinitions: 'KeywordList',
  WaitingFor: 'KeywordList',
  WaitDeadline: 'Datetime',
};
