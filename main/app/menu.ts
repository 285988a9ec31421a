// The application menu: the platform's usual File/Edit/View/Window entries (Edit's copy and paste also
// serve the terminal panes), a reload that keeps the core running, and Help with what Ferry stores where.

import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  showStoreLocation(): void;
  showSecretStorage(): void;
}

export function applicationMenuTemplate(
  actions: MenuActions,
  platform: NodeJS.Platform = process.platform,
): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  return [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    { label: 'File', submenu: [mac ? { role: 'close' as const } : { role: 'quit' as const }] },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        { role: 'toggleDevTools' },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'Where Ferry keeps its catalog', click: () => actions.showStoreLocation() },
        { label: 'Remembered passwords', click: () => actions.showSecretStorage() },
      ],
    },
  ];
}
