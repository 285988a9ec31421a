// Ferry's layers (../shared/STYLE.md): arrows point down; tests are exempt.
module.exports = {
  forbidden: [
    {
      name: 'shared-is-a-leaf',
      comment: 'shared/ imports nothing of the project and nothing Node-only or Electron',
      severity: 'error',
      from: { path: '^shared/' },
      to: { pathNot: '^shared/|^node_modules/zod/' },
    },
    {
      name: 'shared-no-node',
      severity: 'error',
      from: { path: '^shared/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'agent-only-shared',
      comment: 'agent/ imports shared/, Node built-ins and pure-JS packages; it is bundled to one file',
      severity: 'error',
      from: { path: '^agent/' },
      to: { path: '^(main|renderer|test|build)/' },
    },
    {
      name: 'core-no-electron-no-shells',
      severity: 'error',
      from: { path: '^main/core/' },
      to: { path: '^(main/(app|web|cli)|renderer|agent|test)/|^node_modules/electron/|^electron$' },
    },
    {
      name: 'shells-only-core',
      severity: 'error',
      from: { path: '^main/(web|cli)/' },
      to: { path: '^(main/app|renderer|agent|test)/|^node_modules/electron/|^electron$' },
    },
    {
      name: 'app-only-core',
      severity: 'error',
      from: { path: '^main/app/' },
      to: { path: '^(main/(web|cli)|renderer|agent|test)/' },
    },
    {
      name: 'renderer-only-shared',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^(main|agent|test|build)/' },
    },
    {
      name: 'renderer-no-node',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(test|dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.svelte'] },
  },
};
