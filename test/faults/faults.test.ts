// The fault suite, in a fixed order: the scenarios share one PostgreSQL and one redis-server, and
// Redis, once killed, stays down (its endpoint holds a single connection). So the database and R2
// scenarios run first, Redis last, one at a time.
import './database.ts';
import './r2-backup.ts';
import './redis.ts';

import { afterAll } from 'vitest';
import { observed } from './helpers.ts';

// The figures the README reports: the slowest answer seen in each scenario.
afterAll(() => console.log(`fault suite figures: ${JSON.stringify(observed)}`));
