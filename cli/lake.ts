/** The local lake's SQL engine lives in the local twin (local/lake.ts: DuckDB over s3rver's files); the CLI uses it as it is. */
export * from '#local/lake';
