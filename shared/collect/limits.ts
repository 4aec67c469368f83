/** Collection limits (docs/api.md#collection-api), in bytes / messages. */
export const LIMITS = {
  requestBytes: 500 * 1024,
  messageBytes: 32 * 1024,
  batchMessages: 2500,
} as const;
