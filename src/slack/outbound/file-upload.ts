import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { WebClient } from '@slack/web-api';

/** A file for Slack: its bytes, what Slack shows, and where it is shared. */
export interface SlackFileUpload {
  /** The name Slack gives the download, with its extension (`statement-2026-11.csv`). */
  filename: string;
  title: string;
  /**
   * The bytes: in memory, a file on disk (read as it is sent), or a stream of known length. A stream
   * can be read once, so a job that may run again passes a file or a buffer.
   */
  content: Buffer | { path: string } | { stream: Readable; length: number };
  /**
   * Where the file is shared: a channel, or a user's direct message with the app. Without it the
   * file stays private to the app (an App Home image block can still show it by id).
   */
  to?: { channel: string } | { user: string };
  /** The message that introduces the file where it is shared. */
  initialComment?: string;
  /** For images: what a screen reader says. */
  altText?: string;
}

export interface UploadedFile {
  /** Slack's file id (`F…`), for `slack_file: { id }` in image blocks. */
  fileId: string;
  /** The channel the file was shared in, when it was. */
  channel: string | undefined;
}

/** Long enough for a large statement on a slow link; the Web API calls keep the client's own timeout. */
const UPLOAD_TIMEOUT_MS = 5 * 60_000;

/**
 * Slack's upload flow (`files.uploadV2` does the same, but reads a stream whole into memory first):
 * ask for an upload URL for `length` bytes, POST the bytes to it, then complete the upload, which
 * shares the file. Errors are the WebClient's, so the caller's 429 and permanent-error handling applies.
 */
export async function uploadFile(
  client: WebClient,
  token: string,
  file: SlackFileUpload,
): Promise<UploadedFile> {
  const body = await openContent(file.content);
  const channel =
    file.to && 'user' in file.to ? await openDirectMessage(client, token, file.to.user) : file.to?.channel;
  const target = await client.files.getUploadURLExternal({
    token,
    filename: file.filename,
    length: body.length,
    ...(file.altText && { alt_text: file.altText }),
  });
  if (!target.upload_url || !target.file_id)
    throw new Error('Slack gave no upload URL for the file (files.getUploadURLExternal)');
  const response = await fetch(target.upload_url, {
    method: 'POST',
    body: body.stream(),
    // A stream is sent as it is read; Slack wants its length, as announced above.
    duplex: 'half',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
    signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
  });
  await response.body?.cancel();
  if (response.status !== 200)
    throw new Error(`Slack refused the file's bytes: HTTP ${response.status} from the upload URL`);
  await client.files.completeUploadExternal({
    token,
    files: [{ id: target.file_id, title: file.title }],
    ...(channel && { channel_id: channel }),
    ...(channel && file.initialComment && { initial_comment: file.initialComment }),
  });
  return { fileId: target.file_id, channel };
}

/** The app's direct-message channel with `user` (a file shared with a user id alone goes nowhere). */
async function openDirectMessage(client: WebClient, token: string, user: string): Promise<string> {
  const opened = await client.conversations.open({ token, users: user });
  const id = opened.channel?.id;
  if (!id) throw new Error(`Slack opened no direct message with ${user}`);
  return id;
}

async function openContent(
  content: SlackFileUpload['content'],
): Promise<{ length: number; stream(): ReadableStream | Buffer }> {
  if (Buffer.isBuffer(content)) return { length: content.length, stream: () => content };
  if ('path' in content) {
    const { size } = await stat(content.path);
    return {
      length: size,
      stream: () => Readable.toWeb(createReadStream(content.path)) as ReadableStream,
    };
  }
  return { length: content.length, stream: () => Readable.toWeb(content.stream) as ReadableStream };
}
