// ferry-agent entry point: dispatches the subcommands. Placeholder until the CLI lands.
import { AGENT_VERSION } from './version.js';

console.log(`ferry-agent ${AGENT_VERSION}`);
