// Svelte options for the renderer (read by vite-plugin-svelte and svelte-check).
export default {
  compilerOptions: { runes: true },
};
