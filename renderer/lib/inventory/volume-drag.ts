// A volume dragged from the table carries its name under Ferry's own type, so a drop of anything else
// (a file, some text) is not mistaken for a move.

export const VOLUME_DRAG_TYPE = 'application/x-ferry-volume';

export function startVolumeDrag(event: DragEvent, volume: string): void {
  if (!event.dataTransfer) return;
  event.dataTransfer.setData(VOLUME_DRAG_TYPE, volume);
  event.dataTransfer.setData('text/plain', volume);
  event.dataTransfer.effectAllowed = 'move';
}

export function isVolumeDrag(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes(VOLUME_DRAG_TYPE) ?? false;
}

export function draggedVolume(event: DragEvent): string | null {
  const name = event.dataTransfer?.getData(VOLUME_DRAG_TYPE);
  return name ? name : null;
}
