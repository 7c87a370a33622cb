/** Time-boxed write grants (deploy, break-glass) that the gateway and lockdown honour. */
export * from './grants.js';
