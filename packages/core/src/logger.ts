import winston from 'winston';

export type Logger = winston.Logger;

/**
 * JSON lines on stdout, each tagged with the service that wrote it. Lines about a request or a
 * job carry its `request_id` too: they are written through requestLogger/jobLogger (request-id.ts).
 */
export function createLogger(service: string, level = 'info', output?: NodeJS.WritableStream): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    // Stdout, or the stream given (a test that reads the lines a service writes).
    transports: [output ? new winston.transports.Stream({ stream: output }) : new winston.transports.Console()],
  });
}
