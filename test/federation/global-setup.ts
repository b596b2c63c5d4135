// Worker project, second global setup: the upstream identity providers (test/federation/upstream.ts).
import type { TestProject } from 'vitest/node';
import { startUpstreams } from './upstream.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    federationIssuer: string;
    federationRogueIssuer: string;
    federationSocialBaseURL: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const upstreams = await startUpstreams();
  project.provide('federationIssuer', upstreams.issuer);
  project.provide('federationRogueIssuer', upstreams.rogueIssuer);
  project.provide('federationSocialBaseURL', upstreams.socialBaseURL);
  return () => upstreams.close();
}
