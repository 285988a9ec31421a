// The agent CLI's tables come from the one implementation both CLIs share.
export { renderTable } from '../../shared/text-table.js';
