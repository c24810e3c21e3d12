import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes every run carries, so the Web UI can filter by site and operation. */
export const SddcSite = defineSearchAttributeKey('SddcSite', SearchAttributeType.KEYWORD);
export const SddcOperation = defineSearchAttributeKey('SddcOperation', SearchAttributeType.KEYWORD);
export const BackupSetId = defineSearchAttributeKey('BackupSetId', SearchAttributeType.KEYWORD);

/** Name → type, for `temporal server start-dev --search-attribute` and operator registration. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword'> = {
  SddcSite: 'Keyword',
  SddcOperation: 'Keyword',
  BackupSetId: 'Keyword',
};

export const DEFAULT_TASK_QUEUE = 'sddc-ops';
