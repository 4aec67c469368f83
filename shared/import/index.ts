/** The import core shared by `npx cairn import` and λ import: parse, map, validate, rejects. */
export * from './csv';
export * from './map';
export * from './rows';
