// Small helpers every page shares.
import { ApiError } from './api.js';
import { h, notice } from './dom.js';

export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

export function errorNotice(e) {
  if (e instanceof ApiError) return notice('error', h('strong', {}, e.error), ': ', e.detail);
  return notice('error', h('strong', {}, 'error'), ': ', String(e && e.message ? e.message : e));
}

export const ACTIONS = {
  'device.wipe': 'Wipe',
  'device.retire': 'Retire',
  'device.lock': 'Lock',
  'device.restart': 'Restart',
  'script.run': 'Run a script',
  'app.install': 'Install an app',
  'app.uninstall': 'Uninstall an app',
  'maa.bundle.update': 'Change access policies',
};

export const STATES = ['needs_approval', 'approved', 'completed', 'rejected', 'cancelled', 'expired'];
