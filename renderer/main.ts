// The renderer's composition root: pick the backend of the shell we run in (Electron's preload exposes
// `window.ferry`; otherwise we were served by the browser shell and use its WebSocket), build the
// services once, mount the app with them in context.

import { mount } from 'svelte';
import App from './App.svelte';
import { createElectronBackend, preloadApi } from './lib/backend/electron-backend.js';
import { bridgeSocketUrl, createWebSocketBackend } from './lib/backend/websocket-backend.js';
import { createServices, SERVICES_KEY } from './lib/services.js';
import './styles.css';

const api = preloadApi();
const backend = api ? createElectronBackend(api) : createWebSocketBackend(bridgeSocketUrl(window.location));
const services = createServices(backend);
const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks #app');
mount(App, { target, context: new Map([[SERVICES_KEY, services]]) });
services.start();
