// The renderer's composition root: pick the backend of the shell we run in, build the services once,
// mount the app with them in context. Electron's preload will expose `window.ferry`; until then the
// browser shell's WebSocket is the only backend.

import { mount } from 'svelte';
import App from './App.svelte';
import { bridgeSocketUrl, createWebSocketBackend } from './lib/backend/websocket-backend.js';
import { createServices, SERVICES_KEY } from './lib/services.js';
import './styles.css';

const backend = createWebSocketBackend(bridgeSocketUrl(window.location));
const services = createServices(backend);
const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks #app');
mount(App, { target, context: new Map([[SERVICES_KEY, services]]) });
services.start();
