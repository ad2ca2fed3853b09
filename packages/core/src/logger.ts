import winston from 'winston';
import { currentRequestId } from './request-id';

export type Logger = winston.Logger;

/**
 * JSON lines on stdout, each tagged with the service that wrote it and, while a request is being
 * handled, with its `request_id`. The id is read when the line is logged, in the caller's context,
 * as winston's own child loggers add their fields: a format could run later, when the stream has
 * buffered the line, outside the request.
 */
export function createLogger(service: string, level = 'info', output?: NodeJS.WritableStream): Logger {
  const logger = winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    // Stdout, or the stream given (a test that reads the lines a service writes).
    transports: [output ? new winston.transports.Stream({ stream: output }) : new winston.transports.Console()],
  });
  return withRequestIds(logger);
}

/** The logger, adding the current request's id to each line that does not name one itself. */
export function withRequestIds(logger: Logger): Logger {
  return Object.create(logger, {
    write: {
      value(info: Record<string, unknown>) {
        const requestId = currentRequestId();
        // A line that names its request (even as none: `request_id: undefined`) keeps what it says.
        if (requestId && !('request_id' in info)) info.request_id = requestId;
        return logger.write(info);
      },
    },
  }) as Logger;
}
