// The agent's version, stamped in by the bundler; 'dev' when run from source (tests, tsx).
declare const FERRY_AGENT_VERSION: string | undefined;
export const AGENT_VERSION: string = typeof FERRY_AGENT_VERSION === 'string' ? FERRY_AGENT_VERSION : 'dev';
