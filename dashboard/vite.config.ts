import { defineConfig } from 'vite';

// Built into the jar's static resources: the scheduler serves the app at /dashboard/, so its
// calls to the Identity, Compute and Network APIs are same-origin.
export default defineConfig({
  base: '/dashboard/',
  build: {
    outDir: 'target/classes/META-INF/resources/dashboard',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
});
