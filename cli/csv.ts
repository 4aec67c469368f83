/** The streaming CSV parser moved to shared/import/csv.ts (the CLI and λ import share it). */
export * from '#shared/import';
