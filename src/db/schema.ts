// The drizzle schema: drizzle-kit reads this file to generate migrations into drizzle/.
export * from '../features/tenants/schema.ts';
