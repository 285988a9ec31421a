// `ferry`: the console's command-line shell. Placeholder until the console core lands.
declare const FERRY_CONSOLE_VERSION: string | undefined;
const version = typeof FERRY_CONSOLE_VERSION === 'string' ? FERRY_CONSOLE_VERSION : 'dev';
console.log(`ferry ${version}`);
