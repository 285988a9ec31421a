// Opens the shell's URL in the desktop's browser when there is one (a display on Linux, always on
// macOS and Windows). Best effort: a failure only means the admin opens the printed URL by hand.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, program)));
}

/** The command that would open `url`, or null when this machine has no desktop to show it. */
export function browserOpener(
  url: string,
  platform = process.platform,
): { command: string; args: string[] } | null {
  if (platform === 'darwin') return { command: 'open', args: [url] };
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url] };
  const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  return hasDisplay && onPath('xdg-open') ? { command: 'xdg-open', args: [url] } : null;
}

/** True when a browser was asked to open the URL. */
export function openBrowser(url: string): boolean {
  const opener = browserOpener(url);
  if (!opener) return false;
  try {
    const child = spawn(opener.command, opener.args, { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}
