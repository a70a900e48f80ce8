// Every path the process binds sits under /<process-id> (vite.config.ts sets the same base).
export const PROCESS_ID = 'voice-chat:voice-chat:template.os';
export const PROCESS_BASE = `/${PROCESS_ID}`;
