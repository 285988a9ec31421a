// Reads terminal output the way an admin sees it, for the terminal tests.

/** The lines a terminal would show: escape sequences removed, each line as left after its last \r. */
export function screenLines(text: string): string[] {
  const plain = text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g, '');
  return plain.split('\n').map((line) => line.replace(/\r$/, '').split('\r').pop() ?? '');
}
