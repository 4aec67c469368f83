/** Every resource declared once (tables, streams, functions, access, routes, schedules). */
export * from './resources';
