import type { InvitationView } from '../../invitations/invitation.service.ts';
import { formatExpiry } from '../../invitations/invitation-email.ts';
import { html, type Markup, trusted } from '../../mail/html.ts';

/**
 * The accept page and its outcomes: plain HTML forms, no script, so it works in any browser
 * and with JavaScript off.
 */

const STYLE = trusted(`
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1c1d; background: #f8f8f8;
         margin: 0; padding: 2rem 1rem; line-height: 1.5; }
  main { max-width: 34rem; margin: 0 auto; background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 2rem; }
  h1 { font-size: 1.4rem; margin-top: 0; }
  label { display: block; font-weight: 600; margin-bottom: .25rem; }
  input[type=text] { width: 100%; box-sizing: border-box; font-size: 1rem; padding: .5rem; border: 1px solid #bbb; border-radius: 4px; }
  .error { color: #b00020; margin: .25rem 0 0; }
  .actions { display: flex; gap: .75rem; align-items: center; margin-top: 1rem; flex-wrap: wrap; }
  button { font-size: 1rem; padding: .55rem 1.1rem; border-radius: 4px; border: 1px solid #007a5a; cursor: pointer; }
  .primary { background: #007a5a; color: #fff; }
  .secondary { background: #fff; color: #1d1c1d; border-color: #bbb; }
  .key { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1rem; background: #f4f4f4; border: 1px solid #ddd;
         padding: .75rem; border-radius: 4px; word-break: break-all; user-select: all; }
  .muted { color: #616061; }
`);

/** A page of the product, in its one style; `content` is the body. */
export function page(title: string, content: Markup): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} · teamops</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${content}
</main>
</body>
</html>`.value;
}

const ROLE_LABEL = { admin: 'an admin', user: 'a user' } as const;

export function acceptPage(invitation: InvitationView, form: { name?: string; error?: string } = {}): string {
  const inviter = invitation.invitedByName ?? 'An administrator';
  const suggested = form.name ?? '';
  return page(
    `Join ${invitation.teamName}`,
    html`<h1>Join ${invitation.teamName}</h1>
<p><strong>${inviter}</strong> invites you to join <strong>${invitation.teamName}</strong> on teamops as
${ROLE_LABEL[invitation.role]}${invitation.email ? html` (${invitation.email})` : ''}.</p>
<p class="muted">This invitation expires on ${formatExpiry(invitation.expiresAt)}.</p>
<form method="post">
  <input type="hidden" name="action" value="accept">
  <label for="name">Your display name</label>
  <input type="text" id="name" name="name" value="${suggested}" maxlength="100" required autocomplete="name"
    ${form.error ? html`aria-invalid="true" aria-describedby="name-error"` : ''}>
  ${form.error ? html`<p class="error" id="name-error">${form.error}</p>` : ''}
  <div class="actions">
    <button type="submit" class="primary">Accept and get my API key</button>
  </div>
</form>
<form method="post" class="actions">
  <input type="hidden" name="action" value="decline">
  <span class="muted">Not for you?</span>
  <button type="submit" class="secondary">Decline</button>
</form>`,
  );
}

export function acceptedPage(outcome: { teamName: string; memberName: string; apiKey: string }): string {
  return page(
    `Welcome to ${outcome.teamName}`,
    html`<h1>Welcome to ${outcome.teamName}, ${outcome.memberName}</h1>
<p>Your sub-account is active. This is its API key:</p>
<p class="key" id="api-key">${outcome.apiKey}</p>
<p><strong>Copy it now: it is shown only once.</strong> If you lose it, an admin can issue a new one.</p>
<p class="muted">Use it as <code>Authorization: Bearer &lt;key&gt;</code> with the teamops API.</p>`,
  );
}

export function declinedPage(teamName: string): string {
  return page(
    'Invitation declined',
    html`<h1>Invitation declined</h1>
<p>You declined the invitation to ${teamName}. Nothing else happens; the link no longer works.</p>`,
  );
}

/** Used, revoked, expired or unknown: say which, and that nothing changed. */
export function endedPage(invitation: InvitationView | null): string {
  if (!invitation) {
    return page(
      'Invitation not found',
      html`<h1>This invitation link is not valid</h1>
<p>Check that you opened the whole link from the email. If it still does not work, ask the person who
invited you to send a new invitation.</p>`,
    );
  }
  const messages = {
    accepted: [
      'This invitation has already been used',
      'The sub-account it created is active. Each link works once.',
    ],
    revoked: [
      'This invitation was withdrawn',
      'It was revoked or declined, so it can no longer be accepted. Ask for a new invitation if you need one.',
    ],
    expired: [
      'This invitation has expired',
      `It expired on ${formatExpiry(invitation.expiresAt)}. Ask ${invitation.invitedByName ?? 'an administrator'} of ${invitation.teamName} for a new one.`,
    ],
    pending: ['This invitation is still open', 'Go back to the link to accept it.'],
  } as const;
  const [title, detail] = messages[invitation.status];
  return page(title, html`<h1>${title}</h1><p>${detail}</p><p class="muted">Nothing was changed.</p>`);
}

/** Too many requests from one address: guessing links is throttled. */
export function slowDownPage(retryAfterSeconds: number): string {
  return page(
    'Too many requests',
    html`<h1>Too many requests</h1><p>Please wait ${String(retryAfterSeconds)} seconds and open the link again.</p>`,
  );
}

export function errorPage(): string {
  return page(
    'Something went wrong',
    html`<h1>Something went wrong on our side</h1><p>Nothing was changed. Please try again in a minute.</p>`,
  );
}
